import {
  ErrorCodes,
  LargeRoomBounds,
  PresenceModes,
  PresenceStatus,
  type GetMembersPageRequest,
  type JoinRoomResult,
  type MemberInfo,
  type MembersPage,
  type PresenceChangedEvent,
  type PresenceDigestEvent,
  type RoomInfo,
  type UserPresenceEvent,
} from "./contract.js";
import type { HandlerList } from "./delivery.js";
import { HubsError } from "./errors.js";

/**
 * A joined room's members as the client last knew them, as the .NET client's `RoomRoster`: a snapshot, replaced whole
 * on every change. Kept from the join result, the presence events of a room below the digest threshold and the
 * `PresenceDigest`s of one past it, and completed by paging `GetMembersPage` when the join result did not hold every
 * member or a digest was truncated (contract version 2).
 */
export interface RoomRoster {
  readonly roomId: string;
  /**
   * Distinct users in the room: the server's exact count (join result, latest digest, mode switch), and in a room
   * reporting by events, once `isComplete`, the size of `members`.
   */
  readonly memberCount: number;
  /** `"events"` or `"digest"`, as the server last said. */
  readonly presenceMode: string;
  /** True when `members` holds every member; false while the rest is paged in (or when that paging failed). */
  readonly isComplete: boolean;
  /**
   * Members by user id, ascending (ordinal). A user who joins a room reporting by events is listed online (`UserJoined`
   * carries no status) until a change says otherwise.
   */
  readonly members: ReadonlyMap<string, MemberInfo>;
}

/** A joined room's roster changed, as the .NET client's `RosterChangedEvent`; the lists hold what this step changed. */
export interface RosterChangedEvent {
  roster: RoomRoster;
  /** Members added to the list. */
  joined: MemberInfo[];
  /** Ids of members taken off the list. */
  left: string[];
  /** Listed members whose status changed, with the new status. */
  changed: MemberInfo[];
  /** The list was replaced whole (join, rejoin after a reconnect, members paged in); the lists are then empty. */
  reset: boolean;
}

const rateLimitedPageDelayMs = 500;

function byId(members: Iterable<MemberInfo>): Map<string, MemberInfo> {
  const map = new Map<string, MemberInfo>();
  for (const member of members) map.set(member.userId, member);
  return map;
}

function ordinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One room's member list and count, and what changed since it last said. Every operation is idempotent (add, remove,
 * set status), so a change applied twice, to an older list and again to a newer one, leaves what it left the first time.
 */
export class RosterList {
  private members: Map<string, MemberInfo>;
  private joinedNow: MemberInfo[] = [];
  private leftNow: string[] = [];
  private changedNow: MemberInfo[] = [];
  private said: RoomRoster | undefined;
  count: number;
  mode: string;
  complete: boolean;

  constructor(private readonly roomId: string, room: RoomInfo, members: MemberInfo[], complete: boolean) {
    this.members = byId(members);
    this.count = room.memberCount;
    this.mode = room.presenceMode ?? PresenceModes.Events;
    this.complete = complete;
    this.recount();
  }

  /** The list a join result gives: possibly only the first members (online ones first). */
  static from(result: JoinRoomResult): RosterList {
    return new RosterList(result.room.roomId, result.room, result.members, result.membersComplete ?? true);
  }

  /** A `UserJoined`: a user not listed yet is added as online; a listed one keeps its status. */
  userJoined(presence: UserPresenceEvent): void {
    this.put({ userId: presence.userId, displayName: presence.displayName, status: PresenceStatus.Online }, true);
    this.recount();
  }

  userLeft(presence: UserPresenceEvent): void {
    this.remove(presence.userId);
    this.recount();
  }

  /** A `PresenceChanged`: only a listed member can change (the event carries no display name). */
  statusChanged(presence: PresenceChangedEvent): void {
    const known = this.members.get(presence.userId);
    if (known !== undefined && known.status !== presence.status) {
      this.set({ ...known, status: presence.status });
    }
  }

  /** A `PresenceDigest`: its net changes, and the room's exact count. */
  digest(digest: PresenceDigestEvent): void {
    for (const member of [...digest.joined, ...digest.changed]) this.put(member, false);
    for (const userId of digest.left) this.remove(userId);
    this.count = digest.memberCount;
    this.recount();
  }

  /** A `RoomUpdated`: the presence mode (a switch) and the room's count. */
  roomUpdated(room: RoomInfo): void {
    this.mode = room.presenceMode ?? this.mode;
    this.count = room.memberCount;
    this.recount();
  }

  markIncomplete(): void {
    this.complete = false;
  }

  /** Every member, read page by page. */
  replace(members: MemberInfo[]): void {
    this.members = byId(members);
    this.complete = true;
    this.recount();
  }

  /** What changed since the last call, with the roster as it is now; undefined when nothing did. */
  takeChange(reset: boolean): RosterChangedEvent | undefined {
    const said = this.said;
    const same =
      this.joinedNow.length === 0 &&
      this.leftNow.length === 0 &&
      this.changedNow.length === 0 &&
      said !== undefined &&
      said.memberCount === this.count &&
      said.presenceMode === this.mode &&
      said.isComplete === this.complete;
    if (same && !reset) return undefined;

    const members = new Map([...this.members.entries()].sort(([a], [b]) => ordinal(a, b)));
    const roster: RoomRoster = { roomId: this.roomId, memberCount: this.count, presenceMode: this.mode, isComplete: this.complete, members };
    this.said = roster;
    const change: RosterChangedEvent = reset
      ? { roster, joined: [], left: [], changed: [], reset: true }
      : { roster, joined: this.joinedNow, left: this.leftNow, changed: this.changedNow, reset: false };
    this.joinedNow = [];
    this.leftNow = [];
    this.changedNow = [];
    return change;
  }

  private put(member: MemberInfo, keepStatus: boolean): void {
    const known = this.members.get(member.userId);
    if (known === undefined) {
      this.members.set(member.userId, member);
      this.joinedNow.push(member);
      this.count++;
      return;
    }

    const updated = keepStatus ? { ...known, displayName: member.displayName } : member;
    if (updated.status !== known.status) {
      this.set(updated);
    } else {
      this.members.set(member.userId, updated);
    }
  }

  private set(member: MemberInfo): void {
    this.members.set(member.userId, member);
    this.changedNow.push(member);
  }

  private remove(userId: string): void {
    if (this.members.delete(userId)) {
      this.leftNow.push(userId);
      this.count--;
    } else if (!this.complete) {
      // A member the partial list did not hold yet: still one fewer.
      this.count = Math.max(0, this.count - 1);
    }
  }

  /** A complete list in a room reporting by events is its own exact count; otherwise the server's word stands. */
  private recount(): void {
    if (this.complete && this.mode === PresenceModes.Events) this.count = this.members.size;
  }
}

interface RoomState {
  /** Undefined until the first join result. */
  list: RosterList | undefined;
  /** Changes since the join or the paging under way began, applied again to its result; undefined when none is. */
  replay: Array<(list: RosterList) => void> | undefined;
  /** Raised by every join, so that a paging begun for an older result is dropped. */
  generation: number;
  paging: boolean;
  /** A truncated digest came while a join or a paging was under way: page again after it. */
  pageAgain: boolean;
}

function joining(state: RoomState): boolean {
  return state.replay !== undefined && !state.paging;
}

/**
 * Keeps a roster for every joined room, as the .NET client's RoomRosters does: every change is a step of the delivery
 * queue (so it keeps its order relative to join results, rejoins and removals); paging `GetMembersPage` runs beside
 * the queue and hands its result back to it. Changes seen while a join or a paging is under way are applied again to
 * its result, so for every user the last word wins.
 */
export class RoomRosters {
  private readonly rooms = new Map<string, RoomState>();
  private readonly published = new Map<string, RoomRoster>();

  constructor(
    private readonly getPage: (request: GetMembersPageRequest) => Promise<MembersPage>,
    private readonly post: (work: () => void | Promise<void>) => Promise<void>,
    private readonly changed: HandlerList<RosterChangedEvent>,
    private readonly warn: (text: string, error?: unknown) => void,
  ) {}

  /** The room's latest roster; undefined for a room not joined (or whose join result is not in yet). */
  get(roomId: string): RoomRoster | undefined {
    return this.published.get(roomId);
  }

  /** A join or rejoin is about to be sent: changes that arrive before its result are kept and applied to it. */
  joinStarting(roomId: string): void {
    void this.post(() => {
      let state = this.rooms.get(roomId);
      if (state === undefined) {
        state = { list: undefined, replay: undefined, generation: 0, paging: false, pageAgain: false };
        this.rooms.set(roomId, state);
      }

      state.generation++;
      state.paging = false;
      state.pageAgain = false;
      state.replay = [];
    });
  }

  /** The join result: the roster starts over from it, and pages the rest in when it was not complete. */
  joined(roomId: string, result: JoinRoomResult): Promise<void> {
    return this.post(async () => {
      const state = this.rooms.get(roomId);
      if (state === undefined) return; // removed while the join was on its way

      const list = RosterList.from(result);
      for (const change of state.replay ?? []) change(list);
      state.replay = undefined;
      state.list = list;
      if (!list.complete || state.pageAgain) this.startPaging(roomId, state);
      await this.publish(roomId, list, true);
    });
  }

  /** The room is no longer followed (left, removed, join refused). */
  forget(roomId: string): void {
    this.published.delete(roomId);
    void this.post(() => {
      this.rooms.delete(roomId);
      this.published.delete(roomId);
    });
  }

  userJoined(presence: UserPresenceEvent): void {
    this.change(presence.roomId, (list) => list.userJoined(presence));
  }

  userLeft(presence: UserPresenceEvent): void {
    this.change(presence.roomId, (list) => list.userLeft(presence));
  }

  presenceChanged(presence: PresenceChangedEvent): void {
    this.change(presence.roomId, (list) => list.statusChanged(presence));
  }

  /** A digest; a truncated one left out changes, so the members are paged in again. */
  digest(digest: PresenceDigestEvent): void {
    this.change(digest.roomId, (list) => list.digest(digest), digest.truncated);
  }

  roomUpdated(room: RoomInfo): void {
    this.change(room.roomId, (list) => list.roomUpdated(room));
  }

  private change(roomId: string, change: (list: RosterList) => void, truncated = false): void {
    void this.post(async () => {
      const state = this.rooms.get(roomId);
      if (state === undefined) return;

      state.replay?.push(change);
      // While a join is under way, the change is applied again to its result, which pages in after a truncated digest.
      state.pageAgain ||= joining(state) && truncated;
      const list = state.list;
      if (list === undefined) return;

      change(list);
      if (truncated && !joining(state)) this.startPaging(roomId, state);
      await this.publish(roomId, list, false);
    });
  }

  private startPaging(roomId: string, state: RoomState): void {
    state.list?.markIncomplete();
    if (state.paging) {
      // The pages under way may have been read before the changes the truncated digest left out.
      state.pageAgain = true;
      return;
    }

    state.paging = true;
    state.pageAgain = false;
    state.replay = [];
    void this.page(roomId, state.generation);
  }

  private async page(roomId: string, generation: number): Promise<void> {
    let members: MemberInfo[] | undefined;
    try {
      members = await this.readAll(roomId);
    } catch (error) {
      // Disconnected mid-way, most likely: the rejoin after the reconnect starts the roster over.
      this.warn(`room ${roomId}: paging the members in stopped`, error);
    }

    void this.post(() => this.paged(roomId, generation, members));
  }

  private async readAll(roomId: string): Promise<MemberInfo[]> {
    const members: MemberInfo[] = [];
    let afterUserId: string | null = null;
    for (;;) {
      let page: MembersPage;
      try {
        page = await this.getPage({ roomId, afterUserId, limit: LargeRoomBounds.MaxPageLimit });
      } catch (error) {
        if (!(error instanceof HubsError) || error.code !== ErrorCodes.RateLimited) throw error;
        await new Promise((resolve) => setTimeout(resolve, rateLimitedPageDelayMs));
        continue;
      }

      members.push(...page.members);
      if (page.nextAfterUserId === null || page.nextAfterUserId === undefined) return members;
      afterUserId = page.nextAfterUserId;
    }
  }

  private async paged(roomId: string, generation: number, members: MemberInfo[] | undefined): Promise<void> {
    const state = this.rooms.get(roomId);
    const list = state?.list;
    if (state === undefined || list === undefined || state.generation !== generation) return; // forgotten, or joined again

    const replay = state.replay ?? [];
    state.paging = false;
    state.replay = undefined;
    if (members !== undefined) {
      list.replace(members);
      for (const change of replay) change(list);
    }

    // A failed paging leaves the list incomplete until the next rejoin or truncated digest pages it in again.
    if (state.pageAgain) this.startPaging(roomId, state);
    await this.publish(roomId, list, members !== undefined);
  }

  private async publish(roomId: string, list: RosterList, reset: boolean): Promise<void> {
    const change = list.takeChange(reset);
    if (change === undefined) return;
    this.published.set(roomId, change.roster);
    await this.changed.invoke(change);
  }
}
