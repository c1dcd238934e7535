export * from "./contract.js";
export { HubsClient, type HubsClientOptions, type HubsConnectionState, type HubsStateChange } from "./client.js";
export { HubsError } from "./errors.js";
export type { RecoveryIncompleteEvent } from "./delivery.js";
export type { RoomRoster, RosterChangedEvent } from "./roster.js";
