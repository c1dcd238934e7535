// The client's delivery queue on its own (no server): gap repair through GetHistory, no duplicates, messages held
// while a join is outstanding, removals said once, and a recovery beyond the history window reported, not skipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HandlerList, RoomDelivery } from "../dist/delivery.js";

function message(sequence, roomId = "room") {
  return { roomId, sequence, senderId: "s", senderName: "S", text: `m${sequence}`, sentAt: "2026-01-01T00:00:00Z", clientMessageId: null };
}

/** A delivery queue over a server history holding `stored`, recording what its handlers see and what it asked. */
function harness(stored) {
  const seen = { messages: [], removals: [], incomplete: [], historyCalls: [], failures: [] };
  const list = (name, into) => {
    const handlers = new HandlerList(name, (_, error) => seen.failures.push(error));
    handlers.add((item) => into.push(item));
    return handlers;
  };
  const delivery = new RoomDelivery(
    async (request) => {
      seen.historyCalls.push(request);
      return stored.filter((m) => m.roomId === request.roomId && m.sequence > (request.afterSequence ?? 0)).slice(0, request.limit);
    },
    list("MessageReceived", seen.messages),
    list("RemovedFromRoom", seen.removals),
    list("RecoveryIncomplete", seen.incomplete),
    () => undefined,
  );
  return { delivery, seen, sequences: () => seen.messages.map((m) => m.sequence) };
}

test("a live message beyond the next sequence repairs the gap from history, each message once", async () => {
  const { delivery, seen, sequences } = harness([1, 2, 3, 4, 5, 6].map((s) => message(s)));
  await delivery.joined("room", 2);

  delivery.messageArrived(message(5));
  delivery.messageArrived(message(4));
  delivery.messageArrived(message(5));
  delivery.messageArrived(message(6));
  await delivery.idle();

  assert.deepEqual(sequences(), [3, 4, 5, 6]);
  assert.deepEqual(seen.historyCalls, [{ roomId: "room", afterSequence: 2, limit: 200 }]);
  assert.deepEqual(seen.failures, []);
});

test("messages that arrive before the join result are held, then delivered after its last sequence", async () => {
  const { delivery, sequences } = harness([]);
  delivery.joinStarting("room");
  delivery.messageArrived(message(7));
  delivery.messageArrived(message(8));
  await delivery.joined("room", 7);
  await delivery.idle();

  assert.deepEqual(sequences(), [8], "7 is in the join result's past, 8 is new");
});

test("a rejoin catches up to the server's last sequence in pages of 200", async () => {
  const stored = Array.from({ length: 450 }, (_, i) => message(i + 1));
  const { delivery, seen, sequences } = harness(stored);
  await delivery.joined("room", 10);
  await delivery.joined("room", 450);

  assert.deepEqual(sequences(), stored.slice(10).map((m) => m.sequence));
  assert.deepEqual(seen.historyCalls.map((c) => c.afterSequence), [10, 210, 410]);
});

test("what fell out of the history window is reported once, with how much was missed", async () => {
  const { delivery, seen, sequences } = harness([8, 9, 10].map((s) => message(s)));
  await delivery.joined("room", 2);
  await delivery.joined("room", 10);

  assert.deepEqual(seen.incomplete, [{ roomId: "room", firstMissedSequence: 3, firstAvailableSequence: 8, missedCount: 5 }]);
  assert.deepEqual(sequences(), [8, 9, 10]);
});

test("a removal is said once and the room's messages stop", async () => {
  const { delivery, seen, sequences } = harness([]);
  await delivery.joined("room", 0);
  delivery.removed({ roomId: "room", reason: "kicked" });
  delivery.removed({ roomId: "room", reason: "kicked" });
  delivery.messageArrived(message(1));
  await delivery.idle();

  assert.deepEqual(seen.removals, [{ roomId: "room", reason: "kicked" }]);
  assert.deepEqual(sequences(), []);
});
