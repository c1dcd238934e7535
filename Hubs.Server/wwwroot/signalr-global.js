// The page loads @microsoft/signalr's browser bundle (served by Hubs from the npm package) as a script; this module
// hands its global to @hubs/client, which imports "@microsoft/signalr" (see the import map in index.html).
const signalR = globalThis.signalR;
export const { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } = signalR;
export default signalR;
