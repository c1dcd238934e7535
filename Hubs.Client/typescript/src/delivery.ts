import type { GetHistoryRequest, RemovedFromRoomEvent, RoomMessage } from "./contract.js";
import { HubsError } from "./errors.js";

/** Messages older than the server's history window could not be recovered: said once, never skipped silently. */
export interface RecoveryIncompleteEvent {
  roomId: string;
  firstMissedSequence: number;
  firstAvailableSequence: number;
  /** How many messages were lost: `firstAvailableSequence - firstMissedSequence`. */
  missedCount: number;
}

const historyPage = 200;

interface RoomPosition {
  /** Sequence of the last message delivered; null while the join result is outstanding. */
  last: number | null;
  held: RoomMessage[];
}

/** Handlers of one event, each called in turn; a handler that throws is reported and does not stop the others. */
export class HandlerList<T> {
  private readonly handlers = new Set<(item: T) => void | Promise<void>>();

  constructor(private readonly name: string, private readonly report: (name: string, error: unknown) => void) {}

  add(handler: (item: T) => void | Promise<void>): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  async invoke(item: T): Promise<void> {
    for (const handler of [...this.handlers]) {
      try {
        await handler(item);
      } catch (error) {
        this.report(this.name, error);
      }
    }
  }
}

/**
 * Delivers what the server sends, in order, exactly once per room, as the .NET client's RoomDelivery does: live
 * events, join results, rejoin results and removals go through one queue; a message beyond the next expected
 * sequence, and a rejoin that reports a newer last sequence, both catch up through `GetHistory`.
 */
export class RoomDelivery {
  private readonly rooms = new Map<string, RoomPosition>();
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly getHistory: (request: GetHistoryRequest) => Promise<RoomMessage[]>,
    private readonly messages: HandlerList<RoomMessage>,
    private readonly removals: HandlerList<RemovedFromRoomEvent>,
    private readonly incomplete: HandlerList<RecoveryIncompleteEvent>,
    private readonly warn: (text: string, error?: unknown) => void,
  ) {}

  /** Queues any other event so that it keeps its order relative to messages. */
  post(work: () => void | Promise<void>): Promise<void> {
    const run = this.tail.then(work);
    this.tail = run.catch((error: unknown) => this.warn("a delivery step failed", error));
    return this.tail;
  }

  /** A join is about to be sent: messages that arrive before its result are held, not dropped. */
  joinStarting(roomId: string): void {
    void this.post(() => {
      if (!this.rooms.has(roomId)) {
        this.rooms.set(roomId, { last: null, held: [] });
      }
    });
  }

  /** A join or rejoin succeeded: a new room starts at the server's last sequence, a known one catches up to it. */
  joined(roomId: string, lastSequence: number): Promise<void> {
    return this.post(async () => {
      const room = this.rooms.get(roomId);
      if (room === undefined) {
        this.rooms.set(roomId, { last: lastSequence, held: [] });
      } else if (room.last === null) {
        room.last = lastSequence;
        const held = room.held.splice(0);
        for (const message of held) {
          await this.receive(message);
        }
      } else {
        await this.catchUp(roomId, room, lastSequence);
      }
    });
  }

  /** The room is no longer followed (left, join refused). */
  forget(roomId: string): void {
    void this.post(() => {
      this.rooms.delete(roomId);
    });
  }

  /** Stops following the room and tells the handlers why, once. */
  removed(removal: RemovedFromRoomEvent): void {
    void this.post(async () => {
      if (this.rooms.delete(removal.roomId)) {
        await this.removals.invoke(removal);
      }
    });
  }

  messageArrived(message: RoomMessage): void {
    void this.post(() => this.receive(message));
  }

  /** Resolves once everything queued so far has been handled. */
  idle(): Promise<void> {
    return this.tail;
  }

  private async receive(message: RoomMessage): Promise<void> {
    const room = this.rooms.get(message.roomId);
    if (room === undefined) {
      return;
    }

    if (room.last === null) {
      room.held.push(message);
      return;
    }

    if (message.sequence > room.last + 1) {
      await this.catchUp(message.roomId, room, message.sequence);
    }

    await this.deliver(room, message);
  }

  private async catchUp(roomId: string, room: RoomPosition, target: number): Promise<void> {
    try {
      while (room.last !== null && room.last < target) {
        const page = await this.getHistory({ roomId, afterSequence: room.last, limit: historyPage });
        for (const message of page) {
          if (message.sequence > room.last + 1) {
            const gap: RecoveryIncompleteEvent = {
              roomId,
              firstMissedSequence: room.last + 1,
              firstAvailableSequence: message.sequence,
              missedCount: message.sequence - (room.last + 1),
            };
            this.warn(`room ${roomId}: messages ${gap.firstMissedSequence}..${message.sequence - 1} are no longer in history`);
            room.last = message.sequence - 1;
            await this.incomplete.invoke(gap);
          }

          await this.deliver(room, message);
        }

        if (page.length < historyPage) {
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof HubsError)) {
        throw error;
      }

      // Disconnected mid-way: the rejoin after the reconnect catches up from the position reached here.
      this.warn(`room ${roomId}: catching up failed (${error.code})`, error);
    }
  }

  private async deliver(room: RoomPosition, message: RoomMessage): Promise<void> {
    if (room.last === null || message.sequence !== room.last + 1) {
      return;
    }

    room.last = message.sequence;
    await this.messages.invoke(message);
  }
}
