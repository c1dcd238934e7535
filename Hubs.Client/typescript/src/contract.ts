// Generated from Hubs.Contracts by tools/Hubs.ContractGen; do not edit.
// Regenerate: dotnet run --project tools/Hubs.ContractGen

export const RoomPermission = {
  Public: "PUBLIC",
  Private: "PRIVATE",
  Restricted: "RESTRICTED",
  OwnerOnly: "OWNER_ONLY",
} as const;
export type RoomPermission = (typeof RoomPermission)[keyof typeof RoomPermission];

export const ErrorCodes = {
  Unauthenticated: "unauthenticated",
  Forbidden: "forbidden",
  NotFound: "not_found",
  InvalidArgument: "invalid_argument",
  RateLimited: "rate_limited",
  RoomFull: "room_full",
  Conflict: "conflict",
  Unavailable: "unavailable",
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const HubRoutes = {
  Rooms: "/hubs/rooms",
  Ticket: "/auth/ticket",
  DevToken: "/dev/token",
  Live: "/healthz/live",
  Ready: "/healthz/ready",
} as const;
export type HubRoute = (typeof HubRoutes)[keyof typeof HubRoutes];

export const LargeRoomBounds = {
  DigestListLimit: 100,
  TypistsPerSecond: 3,
  DefaultPageLimit: 200,
  MaxPageLimit: 1000,
} as const;

export const PresenceModes = {
  Events: "events",
  Digest: "digest",
} as const;
export type PresenceMode = (typeof PresenceModes)[keyof typeof PresenceModes];

export const PresenceStatus = {
  Online: "online",
  Away: "away",
} as const;
export type PresenceStatus = (typeof PresenceStatus)[keyof typeof PresenceStatus];

export const RemovalReasons = {
  Kicked: "kicked",
  Revoked: "revoked",
  Deleted: "deleted",
} as const;
export type RemovalReason = (typeof RemovalReasons)[keyof typeof RemovalReasons];

export interface AuditRecord {
  time: string;
  actor: string;
  via: string;
  action: string;
  roomId: string | null;
  targetUserId: string | null;
  outcome: string;
  refId: string;
}

export interface CreateRoomRequest {
  roomId: string;
  permission: RoomPermission;
  displayName?: string | null;
  allowedRoles?: string[] | null;
  maxMembers?: number | null;
}

export interface DisconnectUserRequest {
  banSeconds?: number | null;
}

export interface DisconnectUserResult {
  userId: string;
  bannedUntil: string | null;
}

export interface GetHistoryRequest {
  roomId: string;
  afterSequence?: number | null;
  limit?: number | null;
}

export interface GetMembersPageRequest {
  roomId: string;
  afterUserId?: string | null;
  limit?: number | null;
}

export interface JoinRoomResult {
  room: RoomInfo;
  members: MemberInfo[];
  lastSequence: number;
  membersComplete: boolean;
}

export interface MemberInfo {
  userId: string;
  displayName: string;
  status: string;
}

export interface MembersPage {
  members: MemberInfo[];
  nextAfterUserId: string | null;
}

export interface NotifyUserRequest {
  senderId: string;
  text: string;
  kind?: string | null;
}

export interface PresenceChangedEvent {
  roomId: string;
  userId: string;
  status: string;
}

export interface PresenceDigestEvent {
  roomId: string;
  memberCount: number;
  joined: MemberInfo[];
  left: string[];
  changed: MemberInfo[];
  truncated: boolean;
}

export interface RemovedFromRoomEvent {
  roomId: string;
  reason: string;
}

export interface RoomInfo {
  roomId: string;
  displayName: string;
  permission: RoomPermission;
  ownerId: string;
  allowedRoles: string[];
  maxMembers: number;
  memberCount: number;
  createdAt: string;
  presenceMode: string;
}

export interface RoomMessage {
  roomId: string;
  sequence: number;
  senderId: string;
  senderName: string;
  text: string;
  sentAt: string;
  clientMessageId: string | null;
}

export interface SendMessageRequest {
  roomId: string;
  text: string;
  clientMessageId?: string | null;
}

export interface SendMessageResult {
  roomId: string;
  sequence: number;
  sentAt: string;
}

export interface ServiceCreateRoomRequest {
  roomId: string;
  permission: RoomPermission;
  ownerId: string;
  displayName?: string | null;
  allowedRoles?: string[] | null;
  maxMembers?: number | null;
}

export interface ServiceMessageRequest {
  senderId: string;
  text: string;
  senderName?: string | null;
  clientMessageId?: string | null;
}

export interface ServiceUpdateRoomRequest {
  displayName?: string | null;
  permission?: RoomPermission | null;
  allowedRoles?: string[] | null;
  maxMembers?: number | null;
}

export interface UpdateRoomRequest {
  roomId: string;
  displayName?: string | null;
  permission?: RoomPermission | null;
  allowedRoles?: string[] | null;
  maxMembers?: number | null;
}

export interface UserNotification {
  userId: string;
  senderId: string;
  kind: string;
  text: string;
  sentAt: string;
}

export interface UserPresenceEvent {
  roomId: string;
  userId: string;
  displayName: string;
}

export interface UserTypingEvent {
  roomId: string;
  userId: string;
}

/** Every hub method, by wire name, with its arguments and result. */
export interface RoomHub {
  CreateRoom(request: CreateRoomRequest): Promise<RoomInfo>;
  GetRoom(roomId: string): Promise<RoomInfo>;
  ListRooms(): Promise<RoomInfo[]>;
  UpdateRoom(request: UpdateRoomRequest): Promise<RoomInfo>;
  DeleteRoom(roomId: string): Promise<void>;
  InviteUser(roomId: string, userId: string): Promise<void>;
  RevokeInvite(roomId: string, userId: string): Promise<void>;
  GetInvites(roomId: string): Promise<string[]>;
  KickUser(roomId: string, userId: string): Promise<void>;
  JoinRoom(roomId: string): Promise<JoinRoomResult>;
  LeaveRoom(roomId: string): Promise<void>;
  SendMessage(request: SendMessageRequest): Promise<SendMessageResult>;
  Typing(roomId: string): Promise<void>;
  SetStatus(status: string): Promise<void>;
  GetMembers(roomId: string): Promise<MemberInfo[]>;
  GetMembersPage(request: GetMembersPageRequest): Promise<MembersPage>;
  GetHistory(request: GetHistoryRequest): Promise<RoomMessage[]>;
}
export const RoomHubMethods = ["CreateRoom", "GetRoom", "ListRooms", "UpdateRoom", "DeleteRoom", "InviteUser", "RevokeInvite", "GetInvites", "KickUser", "JoinRoom", "LeaveRoom", "SendMessage", "Typing", "SetStatus", "GetMembers", "GetMembersPage", "GetHistory"] as const;

/** Every event the server sends, by wire name, with its payload. */
export interface RoomClientEvents {
  MessageReceived: (message: RoomMessage) => void;
  UserJoined: (presence: UserPresenceEvent) => void;
  UserLeft: (presence: UserPresenceEvent) => void;
  PresenceChanged: (presence: PresenceChangedEvent) => void;
  PresenceDigest: (digest: PresenceDigestEvent) => void;
  UserTyping: (typing: UserTypingEvent) => void;
  RoomUpdated: (room: RoomInfo) => void;
  RemovedFromRoom: (removal: RemovedFromRoomEvent) => void;
  Notified: (notification: UserNotification) => void;
}
export const RoomClientEventNames = ["MessageReceived", "UserJoined", "UserLeft", "PresenceChanged", "PresenceDigest", "UserTyping", "RoomUpdated", "RemovedFromRoom", "Notified"] as const;
