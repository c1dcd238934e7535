import * as signalR from "@microsoft/signalr";
import {
  ErrorCodes,
  HubRoutes,
  RemovalReasons,
  type CreateRoomRequest,
  type GetHistoryRequest,
  type GetMembersPageRequest,
  type JoinRoomResult,
  type MemberInfo,
  type MembersPage,
  type PresenceChangedEvent,
  type PresenceDigestEvent,
  type RemovedFromRoomEvent,
  type RoomClientEvents,
  type RoomHub,
  type RoomInfo,
  type RoomMessage,
  type SendMessageRequest,
  type SendMessageResult,
  type UpdateRoomRequest,
  type UserPresenceEvent,
  type UserNotification,
  type UserTypingEvent,
} from "./contract.js";
import { HandlerList, RoomDelivery, type RecoveryIncompleteEvent } from "./delivery.js";
import { HubsError, unavailable } from "./errors.js";
import { RoomRosters, type RoomRoster, type RosterChangedEvent } from "./roster.js";

/** The client's connection state, as in the .NET client's `HubsConnectionState`. */
export type HubsConnectionState = "Disconnected" | "Connecting" | "Connected" | "Reconnecting";

/** A state change, as in the .NET client's `HubsStateChangedEventArgs`. */
export interface HubsStateChange {
  previous: HubsConnectionState;
  current: HubsConnectionState;
  error?: unknown;
}

/** Where to connect and how; the TypeScript form of the .NET client's `HubsClientOptions`. */
export interface HubsClientOptions {
  /** A node's hub URL, e.g. `https://chat.example.com/hubs/rooms`. */
  url?: string;
  /** More node URLs: the client connects to the first that accepts and reconnects to any that answers. */
  urls?: string[];
  /** Returns the user's JWT; asked again before every (re)connect. */
  accessTokenProvider: () => string | Promise<string>;
  /**
   * Trade the JWT for a single-use ticket (`POST /auth/ticket`, JWT in a header) before every (re)connect, so that
   * no JWT ever sits in a URL. Default: on in browsers. Tickets imply WebSockets without negotiation.
   */
  useTickets?: boolean;
  /** Connect over WebSockets without the negotiate request (no sticky sessions needed). Default: as `useTickets`. */
  skipNegotiation?: boolean;
  /** First reconnect delay's ceiling in ms (full jitter, doubling per attempt). Default 200. */
  initialReconnectDelayMs?: number;
  /** Largest reconnect delay in ms. Default 10000. */
  maxReconnectDelayMs?: number;
  /**
   * How long `sendMessage` keeps retrying through reconnects with the same `clientMessageId` (the server stores it
   * once). 0 sends once. Default 30000.
   */
  sendRetryTimeoutMs?: number;
  /** SignalR's log level or logger. Default: warnings. */
  logger?: signalR.LogLevel | signalR.ILogger;
  /** The fetch used for tickets; defaults to the global one. */
  fetch?: typeof fetch;
}

interface NodeConnection {
  urlIndex: number;
  url: string;
  hub: signalR.HubConnection;
  closed: Promise<Error | undefined>;
}

type Handler<T> = (item: T) => void | Promise<void>;

/**
 * Typed client of the Hubs room hub; mirrors the .NET `HubsClient` name for name. Every hub method is a method here,
 * every server event an `on…` registration that returns its unsubscribe function. After a lost connection it
 * reconnects with jittered exponential backoff to any node that answers, gets a fresh ticket, rejoins its rooms (the
 * server checks access again) and delivers what it missed through `onMessageReceived`, in sequence order and without
 * duplicates.
 */
export class HubsClient {
  private readonly options: Required<Pick<HubsClientOptions, "initialReconnectDelayMs" | "maxReconnectDelayMs" | "sendRetryTimeoutMs">> &
    HubsClientOptions;
  private readonly urls: string[];
  private readonly useTickets: boolean;
  private readonly skipNegotiation: boolean;
  private readonly joined = new Set<string>();
  private readonly messageReceived: HandlerList<RoomMessage>;
  private readonly userJoined: HandlerList<UserPresenceEvent>;
  private readonly userLeft: HandlerList<UserPresenceEvent>;
  private readonly presenceChanged: HandlerList<PresenceChangedEvent>;
  private readonly presenceDigest: HandlerList<PresenceDigestEvent>;
  private readonly userTyping: HandlerList<UserTypingEvent>;
  private readonly roomUpdated: HandlerList<RoomInfo>;
  private readonly removedFromRoom: HandlerList<RemovedFromRoomEvent>;
  private readonly notified: HandlerList<UserNotification>;
  private readonly recoveryIncomplete: HandlerList<RecoveryIncompleteEvent>;
  private readonly stateChanged: HandlerList<HubsStateChange>;
  private readonly rosterChanged: HandlerList<RosterChangedEvent>;
  private readonly delivery: RoomDelivery;
  private readonly rosters: RoomRosters;
  private membership: Promise<unknown> = Promise.resolve();
  private current: NodeConnection | undefined;
  private currentState: HubsConnectionState = "Disconnected";
  private connectedWaiters: Array<() => void> = [];
  private stopped = false;
  private wakeStop: (() => void) | undefined;
  private readonly stopSignal: Promise<void>;

  constructor(options: HubsClientOptions) {
    this.options = { initialReconnectDelayMs: 200, maxReconnectDelayMs: 10_000, sendRetryTimeoutMs: 30_000, ...options };
    this.urls = [...new Set([options.url, ...(options.urls ?? [])].filter((u): u is string => typeof u === "string"))];
    if (this.urls.length === 0) {
      throw new TypeError("Set HubsClientOptions.url or HubsClientOptions.urls.");
    }

    this.useTickets = options.useTickets ?? typeof (globalThis as { document?: unknown }).document !== "undefined";
    this.skipNegotiation = options.skipNegotiation ?? this.useTickets;
    if (this.useTickets && !this.skipNegotiation) {
      throw new TypeError("Tickets are redeemed on the WebSocket connect: useTickets needs skipNegotiation.");
    }

    const report = (name: string, error: unknown) => this.log(signalR.LogLevel.Error, `A ${name} handler failed: ${String(error)}`);
    this.messageReceived = new HandlerList("MessageReceived", report);
    this.userJoined = new HandlerList("UserJoined", report);
    this.userLeft = new HandlerList("UserLeft", report);
    this.presenceChanged = new HandlerList("PresenceChanged", report);
    this.presenceDigest = new HandlerList("PresenceDigest", report);
    this.userTyping = new HandlerList("UserTyping", report);
    this.roomUpdated = new HandlerList("RoomUpdated", report);
    this.removedFromRoom = new HandlerList("RemovedFromRoom", report);
    this.notified = new HandlerList("Notified", report);
    this.recoveryIncomplete = new HandlerList("RecoveryIncomplete", report);
    this.stateChanged = new HandlerList("StateChanged", report);
    this.rosterChanged = new HandlerList("RosterChanged", report);
    this.delivery = new RoomDelivery(
      (request) => this.invokeOn<RoomMessage[]>(this.requireCurrent(), "GetHistory", request),
      this.messageReceived,
      this.removedFromRoom,
      this.recoveryIncomplete,
      (text, error) => this.log(signalR.LogLevel.Warning, error === undefined ? text : `${text}: ${String(error)}`),
    );
    this.rosters = new RoomRosters(
      (request) => this.invokeOn<MembersPage>(this.requireCurrent(), "GetMembersPage", request),
      (work) => this.delivery.post(work),
      this.rosterChanged,
      (text, error) => this.log(signalR.LogLevel.Information, error === undefined ? text : `${text}: ${String(error)}`),
    );
    this.stopSignal = new Promise((resolve) => {
      this.wakeStop = resolve;
    });
  }

  /** The current connection state. */
  get state(): HubsConnectionState {
    return this.currentState;
  }

  /** The server's id for the current connection; null with `skipNegotiation` or when not connected. */
  get connectionId(): string | null {
    return this.current?.hub.connectionId ?? null;
  }

  /** The node URL of the current connection; undefined before the first connect. */
  get connectedUrl(): string | undefined {
    return this.current?.url;
  }

  /** Rooms joined and not left or removed from; they are rejoined after a reconnect. */
  get joinedRooms(): string[] {
    return [...this.joined];
  }

  /**
   * The member roster of a joined room: its exact member count and its members by user id, kept up to date from the
   * join result and the room's presence events or digests, and paged in with `GetMembersPage` where those do not hold
   * every member. Undefined for a room not joined. `onRosterChanged` tells every change.
   */
  roster(roomId: string): RoomRoster | undefined {
    return this.rosters.get(roomId);
  }

  /** Connects to the first URL that accepts; rejects with the last failure when none does. */
  async start(): Promise<void> {
    if (this.stopped) {
      throw new Error("The client was stopped; create a new one.");
    }

    if (this.currentState !== "Disconnected") {
      throw new Error("The client was already started.");
    }

    this.setState("Connecting");
    let failure: unknown;
    for (let index = 0; index < this.urls.length; index++) {
      try {
        this.current = await this.connect(index);
        this.setState("Connected");
        void this.supervise();
        return;
      } catch (error) {
        this.log(signalR.LogLevel.Warning, `Node ${this.urls[index]} unreachable: ${String(error)}`);
        failure = error;
      }
    }

    this.setState("Disconnected");
    throw failure instanceof HubsError ? failure : unavailable("no node accepted the connection", failure);
  }

  /** Disconnects and stops reconnecting. Registrations stay; the client cannot be started again. */
  async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }

    this.stopped = true;
    this.wakeStop?.();
    const node = this.current;
    if (node !== undefined) {
      await node.hub.stop().catch(() => undefined);
    }

    await this.delivery.idle();
    this.setState("Disconnected");
  }

  /** Every state change. */
  onStateChanged(handler: Handler<HubsStateChange>): () => void {
    return this.stateChanged.add(handler);
  }

  /** Every accepted message of joined rooms, in sequence order, once each (recovered ones included). */
  onMessageReceived(handler: Handler<RoomMessage>): () => void {
    return this.messageReceived.add(handler);
  }

  /** A user's first connection joined a room this client is in. */
  onUserJoined(handler: Handler<UserPresenceEvent>): () => void {
    return this.userJoined.add(handler);
  }

  /** A user's last connection left a room this client is in. */
  onUserLeft(handler: Handler<UserPresenceEvent>): () => void {
    return this.userLeft.add(handler);
  }

  /** A user in a room this client is in changed status. */
  onPresenceChanged(handler: Handler<PresenceChangedEvent>): () => void {
    return this.presenceChanged.add(handler);
  }

  /**
   * A joined room past the digest threshold reports its presence (contract version 2): net joins, leaves and status
   * changes since its previous digest, and its exact member count; such rooms send no `UserJoined`, `UserLeft` or
   * `PresenceChanged`. `roster()` is already updated when the handlers run.
   */
  onPresenceDigest(handler: Handler<PresenceDigestEvent>): () => void {
    return this.presenceDigest.add(handler);
  }

  /**
   * Every change of a joined room's `roster()`: members added, removed or changed, a new count or presence mode, or the
   * list replaced whole (join, rejoin after a reconnect, members paged in). In order with the room's other events,
   * before the handlers of the event that caused it.
   */
  onRosterChanged(handler: Handler<RosterChangedEvent>): () => void {
    return this.rosterChanged.add(handler);
  }

  /** Another user is typing. */
  onUserTyping(handler: Handler<UserTypingEvent>): () => void {
    return this.userTyping.add(handler);
  }

  /** A room's settings changed. */
  onRoomUpdated(handler: Handler<RoomInfo>): () => void {
    return this.roomUpdated.add(handler);
  }

  /** This client was taken out of a room (kicked, revoked, deleted), or could not rejoin it after a reconnect. */
  onRemovedFromRoom(handler: Handler<RemovedFromRoomEvent>): () => void {
    return this.removedFromRoom.add(handler);
  }

  /** A backend sent this user a notification (admin API), whatever rooms the client is in. */
  onNotified(handler: Handler<UserNotification>): () => void {
    return this.notified.add(handler);
  }

  /** Messages missed while away are older than the server's history window. */
  onRecoveryIncomplete(handler: Handler<RecoveryIncompleteEvent>): () => void {
    return this.recoveryIncomplete.add(handler);
  }

  createRoom(request: CreateRoomRequest): Promise<RoomInfo> {
    return this.invoke("CreateRoom", request);
  }

  getRoom(roomId: string): Promise<RoomInfo> {
    return this.invoke("GetRoom", roomId);
  }

  listRooms(): Promise<RoomInfo[]> {
    return this.invoke("ListRooms");
  }

  updateRoom(request: UpdateRoomRequest): Promise<RoomInfo> {
    return this.invoke("UpdateRoom", request);
  }

  deleteRoom(roomId: string): Promise<void> {
    return this.invoke("DeleteRoom", roomId);
  }

  inviteUser(roomId: string, userId: string): Promise<void> {
    return this.invoke("InviteUser", roomId, userId);
  }

  revokeInvite(roomId: string, userId: string): Promise<void> {
    return this.invoke("RevokeInvite", roomId, userId);
  }

  getInvites(roomId: string): Promise<string[]> {
    return this.invoke("GetInvites", roomId);
  }

  kickUser(roomId: string, userId: string): Promise<void> {
    return this.invoke("KickUser", roomId, userId);
  }

  /** Joins a room; from here its messages arrive through `onMessageReceived`, and it is rejoined after reconnects. */
  async joinRoom(roomId: string): Promise<JoinRoomResult> {
    this.ensureConnected();
    return this.serialized(async () => {
      const rejoin = this.joined.has(roomId);
      if (!rejoin) {
        this.delivery.joinStarting(roomId);
        this.rosters.joinStarting(roomId);
      }

      try {
        const result = await this.invokeOn<JoinRoomResult>(this.requireCurrent(), "JoinRoom", roomId);
        this.joined.add(roomId);
        await this.delivery.joined(roomId, result.lastSequence);
        if (!rejoin) {
          await this.rosters.joined(roomId, result);
        }

        return result;
      } catch (error) {
        if (!rejoin) {
          this.delivery.forget(roomId);
          this.rosters.forget(roomId);
        }

        throw error;
      }
    });
  }

  async leaveRoom(roomId: string): Promise<void> {
    this.ensureConnected();
    return this.serialized(async () => {
      await this.invokeOn<void>(this.requireCurrent(), "LeaveRoom", roomId);
      this.joined.delete(roomId);
      this.delivery.forget(roomId);
      this.rosters.forget(roomId);
    });
  }

  /**
   * Sends a message and resolves once the server has stored it. When the connection is lost under the call, the
   * client waits for the reconnect and sends again with the same `clientMessageId` (one is assigned when the request
   * has none) for up to `sendRetryTimeoutMs`; the server stores it once.
   */
  async sendMessage(request: SendMessageRequest): Promise<SendMessageResult> {
    if (this.options.sendRetryTimeoutMs <= 0) {
      return this.invoke("SendMessage", request);
    }

    if (this.currentState === "Disconnected" || this.currentState === "Connecting") {
      throw unavailable(`not connected (${this.currentState})`);
    }

    const idempotent: SendMessageRequest = { ...request, clientMessageId: request.clientMessageId ?? randomId() };
    const deadline = Date.now() + this.options.sendRetryTimeoutMs;
    let pause = 100;
    for (;;) {
      try {
        await this.waitConnected(deadline - Date.now());
        return await this.invokeOn<SendMessageResult>(this.requireCurrent(), "SendMessage", idempotent);
      } catch (error) {
        const left = deadline - Date.now();
        if (!(error instanceof HubsError) || error.code !== ErrorCodes.Unavailable || left <= 0 || this.stopped) {
          throw error;
        }

        if (this.currentState === "Connected") {
          await delay(Math.min(pause, left));
          pause = Math.min(pause * 2, 2000);
        }
      }
    }
  }

  typing(roomId: string): Promise<void> {
    return this.invoke("Typing", roomId);
  }

  setStatus(status: string): Promise<void> {
    return this.invoke("SetStatus", status);
  }

  getMembers(roomId: string): Promise<MemberInfo[]> {
    return this.invoke("GetMembers", roomId);
  }

  /** One page of a joined room's members, ascending by user id (contract version 2; any room size). */
  getMembersPage(request: GetMembersPageRequest): Promise<MembersPage> {
    return this.invoke("GetMembersPage", request);
  }

  getHistory(request: GetHistoryRequest): Promise<RoomMessage[]> {
    return this.invoke("GetHistory", request);
  }

  private invoke<T>(method: keyof RoomHub, ...args: unknown[]): Promise<T> {
    try {
      this.ensureConnected();
      return this.invokeOn<T>(this.requireCurrent(), method, ...args);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async invokeOn<T>(node: NodeConnection, method: keyof RoomHub, ...args: unknown[]): Promise<T> {
    if (node.hub.state !== signalR.HubConnectionState.Connected) {
      throw unavailable("the connection was lost");
    }

    try {
      return await node.hub.invoke<T>(method, ...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : "";
      // A server refusal carries "<code>: <text>"; anything else is the transport failing under the call.
      if (message.includes("HubException: ") || /^[a-z_]+: /.test(message)) {
        throw HubsError.fromHubError(error);
      }

      throw unavailable("the connection was lost", error);
    }
  }

  /** Trades the user's JWT (sent in a header) for a single-use ticket that stands for it on one connect. */
  private async ticket(url: string): Promise<string> {
    const token = await this.options.accessTokenProvider();
    const fetcher = this.options.fetch ?? globalThis.fetch;
    const response = await fetcher(new URL(HubRoutes.Ticket, new URL(url).origin), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) {
      const code = response.status === 401 ? ErrorCodes.Unauthenticated : ErrorCodes.Unavailable;
      throw new HubsError(code, `${code}: no connection ticket (HTTP ${response.status})`);
    }

    return ((await response.json()) as { ticket: string }).ticket;
  }

  private async connect(urlIndex: number): Promise<NodeConnection> {
    const url = this.urls[urlIndex]!;
    const transport: signalR.IHttpConnectionOptions = this.useTickets
      ? // The ticket goes in the WebSocket URL, where SignalR would put a JWT in browsers (and a header in Node).
        { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets }
      : {
          accessTokenFactory: () => this.options.accessTokenProvider(),
          skipNegotiation: this.skipNegotiation,
          transport: this.skipNegotiation ? signalR.HttpTransportType.WebSockets : undefined,
        };
    const hubUrl = this.useTickets ? withQuery(url, "access_token", await this.ticket(url)) : url;
    const hub = new signalR.HubConnectionBuilder()
      .withUrl(hubUrl, transport)
      .configureLogging(this.options.logger ?? signalR.LogLevel.Warning)
      .build();
    let closed!: (error: Error | undefined) => void;
    const node: NodeConnection = { urlIndex, url, hub, closed: new Promise((resolve) => (closed = resolve)) };
    hub.onclose((error) => closed(error));

    // Handlers only enqueue. Messages and removals go through delivery (which drops what it already has); other
    // events only from the current connection.
    hub.on("MessageReceived", (message: RoomMessage) => this.delivery.messageArrived(message));
    hub.on("RemovedFromRoom", (removal: RemovedFromRoomEvent) => {
      this.joined.delete(removal.roomId);
      this.delivery.removed(removal);
      this.rosters.forget(removal.roomId);
    });
    this.forward(hub, node, "UserJoined", this.userJoined, (e) => this.rosters.userJoined(e));
    this.forward(hub, node, "UserLeft", this.userLeft, (e) => this.rosters.userLeft(e));
    this.forward(hub, node, "PresenceChanged", this.presenceChanged, (e) => this.rosters.presenceChanged(e));
    this.forward(hub, node, "PresenceDigest", this.presenceDigest, (d) => this.rosters.digest(d));
    this.forward(hub, node, "UserTyping", this.userTyping);
    this.forward(hub, node, "RoomUpdated", this.roomUpdated, (r) => this.rosters.roomUpdated(r));
    this.forward(hub, node, "Notified", this.notified);
    await hub.start();
    return node;
  }

  /** Queues an event of the current connection: the roster's step first (when it keeps one), then the handlers. */
  private forward<K extends keyof RoomClientEvents, T>(
    hub: signalR.HubConnection,
    node: NodeConnection,
    event: K,
    handlers: HandlerList<T>,
    roster?: (item: T) => void,
  ): void {
    hub.on(event, (item: T) => {
      if (this.current === node) {
        roster?.(item);
        void this.delivery.post(() => handlers.invoke(item));
      }
    });
  }

  /** Owns the connection from the first connect to the stop: reconnects whenever it closes. */
  private async supervise(): Promise<void> {
    while (!this.stopped) {
      const node = this.requireCurrent();
      const error = await Promise.race([node.closed, this.stopSignal.then(() => undefined)]);
      if (this.stopped) {
        return;
      }

      await this.reconnect(node, error);
    }
  }

  /** After a loss: backoff with full jitter, any node that answers (starting after the lost one), rejoin, catch up. */
  private async reconnect(lost: NodeConnection, error: Error | undefined): Promise<void> {
    this.setState("Reconnecting", error);
    for (let attempt = 1; !this.stopped; attempt++) {
      const ceiling = Math.min(this.options.maxReconnectDelayMs, this.options.initialReconnectDelayMs * 2 ** Math.min(attempt - 1, 20));
      await Promise.race([delay(Math.max(1, Math.random() * ceiling)), this.stopSignal]);
      if (this.stopped) {
        return;
      }

      const index = (lost.urlIndex + attempt) % this.urls.length;
      let node: NodeConnection;
      try {
        node = await this.connect(index);
      } catch (failure) {
        this.log(signalR.LogLevel.Information, `Reconnect attempt ${attempt} failed: ${String(failure)}`);
        continue;
      }

      if (this.stopped) {
        await node.hub.stop().catch(() => undefined);
        return;
      }

      this.current = node;
      try {
        await this.serialized(() => this.rejoin(node));
      } catch (failure) {
        this.log(signalR.LogLevel.Information, `Rejoin after attempt ${attempt} failed: ${String(failure)}`);
        await node.hub.stop().catch(() => undefined);
        continue;
      }

      if (node.hub.state !== signalR.HubConnectionState.Connected) {
        // Dropped again during the rejoin: the supervisor sees it closed and reconnects once more.
        return;
      }

      this.setState("Connected");
      return;
    }
  }

  /** Joins every followed room on `node`, catches each up to the server's last sequence and starts its roster over. */
  private async rejoin(node: NodeConnection): Promise<void> {
    for (const roomId of [...this.joined]) {
      let result: JoinRoomResult;
      this.rosters.joinStarting(roomId);
      try {
        result = await this.invokeOn<JoinRoomResult>(node, "JoinRoom", roomId);
      } catch (error) {
        if (error instanceof HubsError && [ErrorCodes.NotFound, ErrorCodes.Forbidden, ErrorCodes.RoomFull].includes(error.code as never)) {
          // Access was lost while away: the app learns it as a removal, and nothing more arrives for the room.
          this.joined.delete(roomId);
          const reason = error.code === ErrorCodes.RoomFull ? ErrorCodes.RoomFull : RemovalReasons.Revoked;
          this.delivery.removed({ roomId, reason });
          this.rosters.forget(roomId);
          continue;
        }

        throw error;
      }

      await this.delivery.joined(roomId, result.lastSequence);
      // The roster starts over from the new result: what changed while away is in it, not in any event.
      await this.rosters.joined(roomId, result);
    }
  }

  /** One membership change at a time, and none while a reconnect is rejoining. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.membership.then(work, work);
    this.membership = run.catch(() => undefined);
    return run;
  }

  private async waitConnected(bound: number): Promise<void> {
    if (this.currentState === "Connected") {
      return;
    }

    if (this.stopped || this.currentState === "Disconnected") {
      throw unavailable(`not connected (${this.currentState})`);
    }

    let timer: ReturnType<typeof setTimeout> | undefined;
    const connected = new Promise<void>((resolve) => this.connectedWaiters.push(resolve));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`not connected (${this.currentState})`)), Math.max(0, bound));
    });
    try {
      await Promise.race([connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ensureConnected(): void {
    if (this.currentState !== "Connected") {
      throw unavailable(`not connected (${this.currentState})`);
    }
  }

  private requireCurrent(): NodeConnection {
    if (this.current === undefined) {
      throw unavailable("not connected");
    }

    return this.current;
  }

  private setState(state: HubsConnectionState, error?: unknown): void {
    const previous = this.currentState;
    if (previous === state) {
      return;
    }

    this.currentState = state;
    if (state === "Connected") {
      const waiters = this.connectedWaiters.splice(0);
      waiters.forEach((wake) => wake());
    }

    void this.stateChanged.invoke({ previous, current: state, error });
  }

  private log(level: signalR.LogLevel, text: string): void {
    const logger = this.options.logger;
    if (typeof logger === "object") {
      logger.log(level, text);
    } else if (level >= (logger ?? signalR.LogLevel.Warning)) {
      console.warn(`[hubs] ${text}`);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withQuery(url: string, name: string, value: string): string {
  const result = new URL(url);
  result.searchParams.set(name, value);
  return result.toString();
}

function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
