// Contract version 2 through the TypeScript client against a real Hubs server with a low digest threshold: the roster
// of a joined room follows events, the switch to digests and back, pages in what a join result left out, and
// getMembersPage and onPresenceDigest reach the server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HubsClient, LargeRoomBounds, PresenceModes, RoomPermission } from "../dist/index.js";
import { deployment, devToken, until } from "./server.mjs";

const threshold = 6;
const joinMembersLimit = 3;
const clients = [];

async function connect(server, sub) {
  const client = new HubsClient({ url: server.hubUrl, accessTokenProvider: () => devToken(server.url, sub), useTickets: false });
  clients.push(client);
  await client.start();
  return client;
}

describe("large rooms (TypeScript)", () => {
  let server;
  before(async () => {
    server = await deployment({
      Hubs__Presence__DigestThreshold: String(threshold),
      Hubs__Presence__JoinMembersLimit: String(joinMembersLimit),
      Hubs__Presence__DigestIntervalMilliseconds: "100",
    }).start();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await server?.kill();
  });

  test("the roster stays exact through events, digests and both switches; a late joiner pages it in", async () => {
    const watcher = await connect(server, "ts-watcher");
    const digests = [];
    const changes = [];
    watcher.onPresenceDigest((d) => digests.push(d));
    watcher.onRosterChanged((c) => changes.push(c));
    await watcher.createRoom({ roomId: "ts-large", permission: RoomPermission.Public });
    const joined = await watcher.joinRoom("ts-large");
    assert.equal(joined.room.presenceMode, PresenceModes.Events);
    assert.equal(joined.membersComplete, true);
    assert.deepEqual([...watcher.roster("ts-large").members.keys()], ["ts-watcher"]);

    const users = Array.from({ length: 8 }, (_, i) => `ts-u${i}`);
    const members = await Promise.all(users.map((u) => connect(server, u)));
    await Promise.all(members.map((m) => m.joinRoom("ts-large")));
    await until(() => watcher.roster("ts-large")?.memberCount === 9 && watcher.roster("ts-large").members.size === 9, 10_000, "the roster holds all 9");
    const large = watcher.roster("ts-large");
    assert.equal(large.presenceMode, PresenceModes.Digest);
    assert.ok(digests.length > 0, "past the threshold the roster followed digests");
    assert.ok(changes.some((c) => !c.reset && c.joined.length > 0 && c.roster.presenceMode === PresenceModes.Digest));

    const late = await connect(server, "ts-late");
    const lateJoin = await late.joinRoom("ts-large");
    assert.equal(lateJoin.members.length, joinMembersLimit, "the join result is bounded");
    assert.equal(lateJoin.membersComplete, false);
    await until(() => late.roster("ts-large")?.isComplete, 10_000, "the late joiner's roster is paged in");
    assert.deepEqual([...late.roster("ts-large").members.keys()], ["ts-late", "ts-u0", "ts-u1", "ts-u2", "ts-u3", "ts-u4", "ts-u5", "ts-u6", "ts-u7", "ts-watcher"]);
    assert.equal(late.roster("ts-large").memberCount, 10);

    const page = await late.getMembersPage({ roomId: "ts-large", afterUserId: "ts-u5", limit: 2 });
    assert.deepEqual([page.members.map((m) => m.userId), page.nextAfterUserId], [["ts-u6", "ts-u7"], "ts-u7"]);
    assert.ok(LargeRoomBounds.MaxPageLimit >= 1000);

    // Down below half the threshold: the last digest, then the switch back, then events again.
    await Promise.all([late, ...members.slice(0, 7)].map((m) => m.leaveRoom("ts-large")));
    await until(() => watcher.roster("ts-large")?.presenceMode === PresenceModes.Events, 10_000, "back to events");
    await until(() => watcher.roster("ts-large").memberCount === 2, 10_000, "two left");
    assert.deepEqual([...watcher.roster("ts-large").members.keys()], ["ts-u7", "ts-watcher"]);
    await members[7].leaveRoom("ts-large");
    await until(() => watcher.roster("ts-large").memberCount === 1, 10_000, "the last leave by its event");
    assert.equal(late.roster("ts-large"), undefined, "a room left has no roster");
  });
});
