// The TypeScript client against a real Hubs server (and redis-server): every method, refusals as HubsError codes,
// and reconnect with rejoin and recovery across a server restart.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCodes, HubsClient, HubsError, RoomPermission } from "../dist/index.js";
import { deployment, devToken, nextEvent, until } from "./server.mjs";

const clients = [];
async function connect(server, sub, options = {}) {
  const client = new HubsClient({
    url: server.hubUrl,
    accessTokenProvider: () => devToken(server.url, sub, `User ${sub}`),
    useTickets: false,
    ...options,
  });
  clients.push(client);
  await client.start();
  return client;
}

async function refusal(promise) {
  const error = await promise.then(
    () => assert.fail("the call succeeded"),
    (e) => e,
  );
  assert.ok(error instanceof HubsError, `expected a HubsError, got ${error}`);
  return error.code;
}

describe("HubsClient (TypeScript)", () => {
  let server;
  before(async () => {
    server = await deployment().start();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await server?.kill();
  });

  test("every method works and every event arrives", async () => {
    const owner = await connect(server, "ts-owner");
    const guest = await connect(server, "ts-guest");
    assert.equal(owner.state, "Connected");

    const created = await owner.createRoom({ roomId: "ts-room", permission: RoomPermission.Private, displayName: "TS room" });
    assert.deepEqual([created.roomId, created.permission, created.ownerId, created.memberCount], ["ts-room", "PRIVATE", "ts-owner", 0]);
    assert.equal((await owner.getRoom("ts-room")).displayName, "TS room");
    assert.ok((await owner.listRooms()).some((r) => r.roomId === "ts-room"));

    await owner.inviteUser("ts-room", "ts-guest");
    assert.deepEqual(await owner.getInvites("ts-room"), ["ts-guest"]);
    const ownerJoin = await owner.joinRoom("ts-room");
    assert.equal(ownerJoin.lastSequence, 0);
    const guestJoined = nextEvent((h) => owner.onUserJoined(h), (e) => e.userId === "ts-guest");
    const guestJoin = await guest.joinRoom("ts-room");
    assert.deepEqual(guestJoin.members.map((m) => m.userId), ["ts-guest", "ts-owner"]);
    assert.equal((await guestJoined).displayName, "User ts-guest");
    assert.deepEqual(guest.joinedRooms, ["ts-room"]);

    const received = nextEvent((h) => guest.onMessageReceived(h));
    const sent = await owner.sendMessage({ roomId: "ts-room", text: "hello from TypeScript" });
    assert.equal(sent.sequence, 1);
    const message = await received;
    assert.deepEqual([message.sequence, message.senderId, message.text], [1, "ts-owner", "hello from TypeScript"]);
    assert.equal(typeof message.clientMessageId, "string", "sendMessage assigns a clientMessageId for safe retries");
    assert.deepEqual((await guest.getHistory({ roomId: "ts-room" })).map((m) => m.text), ["hello from TypeScript"]);
    await owner.sendMessage({ roomId: "ts-room", text: "second", clientMessageId: "ts-second" });
    await owner.sendMessage({ roomId: "ts-room", text: "third" });
    const page = await guest.getHistory({ roomId: "ts-room", afterSequence: 1, limit: 1 });
    assert.deepEqual(page.map((m) => [m.sequence, m.text, m.clientMessageId]), [[2, "second", "ts-second"]], "afterSequence and limit reach the server");

    const typing = nextEvent((h) => owner.onUserTyping(h));
    await guest.typing("ts-room");
    assert.deepEqual(await typing, { roomId: "ts-room", userId: "ts-guest" });

    const away = nextEvent((h) => owner.onPresenceChanged(h), (e) => e.userId === "ts-guest");
    await guest.setStatus("away");
    assert.equal((await away).status, "away");
    assert.equal((await owner.getMembers("ts-room")).find((m) => m.userId === "ts-guest").status, "away");

    const updated = nextEvent((h) => guest.onRoomUpdated(h));
    await owner.updateRoom({ roomId: "ts-room", displayName: "Renamed" });
    assert.equal((await updated).displayName, "Renamed");

    const left = nextEvent((h) => owner.onUserLeft(h), (e) => e.userId === "ts-guest");
    await guest.leaveRoom("ts-room");
    await left;
    assert.deepEqual(guest.joinedRooms, []);

    await guest.joinRoom("ts-room");
    const kicked = nextEvent((h) => guest.onRemovedFromRoom(h));
    await owner.kickUser("ts-room", "ts-guest");
    assert.deepEqual(await kicked, { roomId: "ts-room", reason: "kicked" });
    await until(() => guest.joinedRooms.length === 0, 5000, "the kicked room is forgotten");

    await owner.revokeInvite("ts-room", "ts-guest");
    assert.deepEqual(await owner.getInvites("ts-room"), []);
    await owner.deleteRoom("ts-room");
    assert.equal(await refusal(owner.getRoom("ts-room")), ErrorCodes.NotFound);
  });

  test("refusals arrive as HubsError with the contract's code", async () => {
    const owner = await connect(server, "ts-refusal-owner");
    const other = await connect(server, "ts-refusal-other");
    await owner.createRoom({ roomId: "ts-refusals", permission: RoomPermission.Private });

    assert.equal(await refusal(other.getRoom("ts-refusals")), ErrorCodes.NotFound, "a hidden room looks absent");
    assert.equal(await refusal(other.joinRoom("ts-refusals")), ErrorCodes.NotFound);
    assert.equal(await refusal(owner.createRoom({ roomId: "ts-refusals", permission: RoomPermission.Public })), ErrorCodes.Conflict);
    assert.equal(await refusal(owner.createRoom({ roomId: "", permission: RoomPermission.Public })), ErrorCodes.InvalidArgument);
    assert.equal(await refusal(owner.sendMessage({ roomId: "ts-refusals", text: "not joined" })), ErrorCodes.Forbidden);
    await owner.inviteUser("ts-refusals", "ts-refusal-other");
    await other.joinRoom("ts-refusals");
    assert.equal(await refusal(other.kickUser("ts-refusals", "ts-refusal-owner")), ErrorCodes.Forbidden);
    assert.equal(await refusal(other.getInvites("ts-refusals")), ErrorCodes.Forbidden);
    assert.equal(await refusal(other.getHistory({ roomId: "ts-refusals", limit: 500 })), ErrorCodes.InvalidArgument);

    await owner.createRoom({ roomId: "ts-full", permission: RoomPermission.Public, maxMembers: 1 });
    await owner.joinRoom("ts-full");
    assert.equal(await refusal(other.joinRoom("ts-full")), ErrorCodes.RoomFull);
    assert.deepEqual(other.joinedRooms, ["ts-refusals"], "a refused join is not followed");

    const error = await owner.getRoom("no-such-room").catch((e) => e);
    assert.match(error.message, /^not_found: /);
    assert.ok(error.refId, "the reference id matching the server log is kept");
    assert.doesNotMatch(error.message, /Exception|at |Stack/);
  });

  test("a token the server refuses fails the start as unauthenticated", async () => {
    const client = new HubsClient({ url: server.hubUrl, accessTokenProvider: () => "not-a-jwt", useTickets: true });
    clients.push(client);
    const error = await client.start().then(
      () => assert.fail("the start succeeded"),
      (e) => e,
    );
    assert.ok(error instanceof HubsError, `expected a HubsError, got ${error}`);
    assert.equal(error.code, ErrorCodes.Unauthenticated);
    assert.equal(client.state, "Disconnected");
  });

  test("a backend's notification arrives through onNotified", async () => {
    const client = await connect(server, "ts-notified");
    const notified = nextEvent((h) => client.onNotified(h));
    const admin = await devToken(server.url, "ts-backend", "Backend", ["hubs-admin"]);
    const response = await fetch(`${server.url}/api/users/ts-notified/notifications`, {
      method: "POST",
      headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
      body: JSON.stringify({ senderId: "billing", text: "invoice ready", kind: "invoice" }),
    });
    assert.equal(response.status, 202);
    const notification = await notified;
    assert.deepEqual([notification.userId, notification.senderId, notification.kind, notification.text], ["ts-notified", "billing", "invoice", "invoice ready"]);
  });

  test("a ticket, not the JWT, opens the connection", async () => {
    const asked = [];
    const client = await connect(server, "ts-ticket", {
      useTickets: true,
      skipNegotiation: true,
      fetch: (url, init) => {
        asked.push(String(url));
        return fetch(url, init);
      },
    });
    assert.equal(client.state, "Connected");
    assert.deepEqual(asked, [`${server.url}/auth/ticket`]);
    await client.createRoom({ roomId: "ts-ticket-room", permission: RoomPermission.Public });
  });
});
