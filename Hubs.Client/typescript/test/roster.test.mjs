// The client's member rosters on their own (no server): kept from join results, presence events and digests, paged
// in when incomplete or after a truncated digest, with changes that arrive meanwhile applied again to the pages, and
// started over by a rejoin.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HandlerList, RoomDelivery } from "../dist/delivery.js";
import { RoomRosters } from "../dist/roster.js";

const room = "lobby";
const member = (userId, status = "online") => ({ userId, displayName: userId.toUpperCase(), status });
const info = (memberCount, presenceMode = "events") => ({
  roomId: room,
  displayName: room,
  permission: "PUBLIC",
  ownerId: "ann",
  allowedRoles: [],
  maxMembers: 1000,
  memberCount,
  createdAt: "2026-01-01T00:00:00Z",
  presenceMode,
});
const result = (memberCount, membersComplete, members, presenceMode = "events") => ({
  room: info(memberCount, presenceMode),
  members,
  lastSequence: 0,
  membersComplete,
});

/** Rosters on a delivery queue, with GetMembersPage answered by the test, recording every change. */
function harness() {
  const changes = [];
  const pages = [];
  const failures = [];
  const delivery = new RoomDelivery(async () => [], new HandlerList("m", () => {}), new HandlerList("r", () => {}), new HandlerList("i", () => {}), () => {});
  const changed = new HandlerList("RosterChanged", (_, error) => failures.push(error));
  changed.add((change) => changes.push(change));
  const rosters = new RoomRosters(
    (request) =>
      new Promise((resolve, reject) => {
        pages.push({ request, resolve, reject });
      }),
    (work) => delivery.post(work),
    changed,
    () => undefined,
  );
  const join = async (joinResult) => {
    rosters.joinStarting(room);
    await rosters.joined(room, joinResult);
  };
  const until = async (condition, what) => {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  // Once the promises in flight have run, every step they queued has run too.
  const settle = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await delivery.idle();
  };
  return { rosters, delivery, changes, pages, failures, join, until, settle, roster: () => rosters.get(room) };
}

test("a complete join result is the roster, without paging", async () => {
  const h = harness();
  await h.join(result(2, true, [member("bob", "away"), member("ann")]));

  assert.deepEqual([...h.roster().members.keys()], ["ann", "bob"], "ascending by user id");
  assert.deepEqual([h.roster().memberCount, h.roster().isComplete, h.roster().presenceMode], [2, true, "events"]);
  assert.equal(h.changes[0].reset, true);
  assert.equal(h.pages.length, 0);
});

test("events change the list and its count; an unlisted user's status changes nothing", async () => {
  const h = harness();
  h.rosters.joinStarting(room);
  // The server announces a join to the room, the joiner included, before it answers.
  h.rosters.userJoined({ roomId: room, userId: "ann", displayName: "ANN" });
  await h.rosters.joined(room, result(2, true, [member("ann", "away"), member("bob")]));

  h.rosters.userJoined({ roomId: room, userId: "cid", displayName: "CID" });
  h.rosters.presenceChanged({ roomId: room, userId: "cid", status: "away" });
  h.rosters.userLeft({ roomId: room, userId: "bob", displayName: "BOB" });
  h.rosters.presenceChanged({ roomId: room, userId: "nobody", status: "away" });
  await h.delivery.idle();

  const [, joined, changed, left, ...rest] = h.changes;
  assert.deepEqual(joined.joined, [member("cid")]);
  assert.deepEqual(changed.changed, [member("cid", "away")]);
  assert.deepEqual(left.left, ["bob"]);
  assert.equal(rest.length, 0);
  assert.deepEqual([...h.roster().members.values()], [member("ann", "away"), member("cid", "away")], "a known member keeps its status");
  assert.equal(h.roster().memberCount, 2, "the own join event was counted once");
});

test("an incomplete join result is paged in; changes meanwhile are applied again to the pages", async () => {
  const h = harness();
  await h.join(result(3, false, [member("ann")]));
  assert.deepEqual([h.roster().memberCount, h.roster().isComplete], [3, false]);

  await h.until(() => h.pages.length === 1, "the first page request");
  assert.deepEqual(h.pages[0].request, { roomId: room, afterUserId: null, limit: 1000 });
  h.rosters.userLeft({ roomId: room, userId: "bob", displayName: "BOB" });
  h.rosters.userJoined({ roomId: room, userId: "eve", displayName: "EVE" });
  await h.delivery.idle();
  h.pages[0].resolve({ members: [member("ann"), member("bob")], nextAfterUserId: "bob" });
  await h.until(() => h.pages.length === 2, "the second page request");
  assert.equal(h.pages[1].request.afterUserId, "bob");
  h.pages[1].resolve({ members: [member("cid")], nextAfterUserId: null });
  await h.until(() => h.roster().isComplete, "the roster is complete");

  assert.deepEqual([...h.roster().members.keys()], ["ann", "cid", "eve"]);
  assert.equal(h.roster().memberCount, 3);
  assert.equal(h.changes.at(-1).reset, true);
});

test("a digest applies its net changes with the server's count; a truncated one pages in, again if another came meanwhile", async () => {
  const h = harness();
  await h.join(result(30, true, [member("ann"), member("bob"), member("cid")], "digest"));

  h.rosters.digest({ roomId: room, memberCount: 40, joined: [member("dan")], left: ["ann"], changed: [member("bob", "away")], truncated: false });
  await h.delivery.idle();
  const digested = h.changes.at(-1);
  assert.deepEqual([digested.joined, digested.left, digested.changed], [[member("dan")], ["ann"], [member("bob", "away")]]);
  assert.equal(digested.roster.memberCount, 40, "a digest room's count is the server's");
  assert.equal(h.pages.length, 0);

  h.rosters.digest({ roomId: room, memberCount: 300, joined: [member("eve")], left: [], changed: [], truncated: true });
  await h.until(() => h.pages.length === 1, "paging after the truncated digest");
  assert.deepEqual([h.roster().isComplete, h.roster().memberCount, h.roster().members.has("eve")], [false, 300, true]);
  h.rosters.digest({ roomId: room, memberCount: 400, joined: [member("fay")], left: [], changed: [], truncated: true });
  await h.delivery.idle();
  h.pages[0].resolve({ members: [member("bob"), member("eve")], nextAfterUserId: null });
  await h.until(() => h.pages.length === 2, "paging again");
  assert.equal(h.pages[1].request.afterUserId, null);
  h.pages[1].resolve({ members: [member("bob"), member("eve"), member("fay"), member("gus")], nextAfterUserId: null });
  await h.until(() => h.roster().isComplete, "the roster is complete");

  assert.deepEqual([...h.roster().members.keys()], ["bob", "eve", "fay", "gus"]);
  assert.equal(h.roster().memberCount, 400);
});

test("the mode follows RoomUpdated; a complete list in an events room is its own count", async () => {
  const h = harness();
  await h.join(result(2, true, [member("ann"), member("bob")]));

  h.rosters.roomUpdated(info(20, "digest"));
  await h.delivery.idle();
  assert.deepEqual([h.roster().presenceMode, h.roster().memberCount], ["digest", 20]);
  h.rosters.roomUpdated(info(9, "events"));
  await h.delivery.idle();
  assert.deepEqual([h.roster().presenceMode, h.roster().memberCount], ["events", 2]);
});

test("a rejoin starts over from its result and drops the paging of the old one; a forgotten room is gone", async () => {
  const h = harness();
  await h.join(result(3, false, [member("ann")]));
  await h.until(() => h.pages.length === 1, "the first page request");

  h.rosters.joinStarting(room);
  h.rosters.userLeft({ roomId: room, userId: "ann", displayName: "ANN" });
  await h.rosters.joined(room, result(2, true, [member("ann"), member("yan")]));
  h.pages[0].resolve({ members: [member("ann"), member("bob"), member("cid")], nextAfterUserId: null });
  await h.settle();
  assert.deepEqual([...h.roster().members.keys()], ["yan"], "a leave seen during the rejoin is applied to its result");
  assert.deepEqual([h.roster().memberCount, h.roster().isComplete], [1, true]);

  h.rosters.forget(room);
  assert.equal(h.roster(), undefined, "gone at once");
  h.rosters.userJoined({ roomId: room, userId: "zoe", displayName: "ZOE" });
  await h.delivery.idle();
  assert.equal(h.roster(), undefined);
});

test("a failed paging leaves the list incomplete; a rate-limited page is asked for again", async () => {
  const { HubsError } = await import("../dist/errors.js");
  const h = harness();
  await h.join(result(4, false, [member("ann")], "digest"));
  await h.until(() => h.pages.length === 1, "the first page request");

  h.pages[0].reject(new HubsError("rate_limited", "rate_limited: slow down"));
  await h.until(() => h.pages.length === 2, "the page asked for again");
  h.pages[1].reject(new HubsError("unavailable", "unavailable: the connection was lost"));
  h.rosters.digest({ roomId: room, memberCount: 5, joined: [member("bob")], left: [], changed: [], truncated: true });
  await h.until(() => h.pages.length === 3, "the next truncated digest pages again");
  assert.equal(h.roster().isComplete, false);
  h.pages[2].resolve({ members: [member("ann"), member("bob"), member("cid")], nextAfterUserId: null });
  await h.until(() => h.roster().isComplete, "the roster is complete");

  assert.deepEqual([...h.roster().members.keys()], ["ann", "bob", "cid"]);
  assert.equal(h.roster().memberCount, 5);
  assert.deepEqual(h.failures, []);
});
