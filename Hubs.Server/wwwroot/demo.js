import { HubsClient, HubsError } from "/lib/hubs-client/index.js";

const $ = (id) => document.getElementById(id);
let client;
let me;
let current; // the open room's RoomInfo
const joined = new Set();
const typingTimers = new Map();
// A room of thousands lists its first members only; the count says how many there are.
const shownMembers = 200;

function notice(text, kind = "info") {
  const el = $("notice");
  el.textContent = text;
  el.className = kind;
}

function describe(error) {
  return error instanceof HubsError ? `${error.code}: ${error.message.replace(/^[a-z_]+: /, "")}` : String(error);
}

async function attempt(action) {
  try {
    await action();
  } catch (error) {
    notice(describe(error), "error");
  }
}

function item(text, testId) {
  const li = document.createElement("li");
  li.textContent = text;
  if (testId) li.dataset.testid = testId;
  return li;
}

async function devToken(name, roles) {
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub: name, name, roles }),
  });
  if (!response.ok) throw new Error(`sign-in failed (HTTP ${response.status})`);
  return (await response.json()).token;
}

async function refreshRooms() {
  const rooms = await client.listRooms();
  const list = $("rooms");
  list.replaceChildren(
    ...rooms.map((room) => {
      const li = item("", `room-${room.roomId}`);
      const button = document.createElement("button");
      button.textContent = `${room.displayName} · ${room.permission} · ${room.memberCount}`;
      button.onclick = () => attempt(() => openRoom(room.roomId));
      li.append(button);
      return li;
    }),
  );
}

// The client keeps the open room's roster (members and exact count, from events or, in a large room, digests).
function showMembers() {
  const roster = current && client.roster(current.roomId);
  if (!roster) return;
  const count = roster.memberCount;
  $("member-count").textContent =
    `${count} ${count === 1 ? "member" : "members"}` + (roster.presenceMode === "digest" ? " · large room" : "") + (roster.isComplete ? "" : " · loading…");
  const members = [...roster.members.values()].slice(0, shownMembers);
  $("members").replaceChildren(
    ...members.map((m) => {
      const li = item(`${m.displayName} (${m.status})`, `member-${m.userId}`);
      if (current.ownerId === me && m.userId !== me) {
        const kick = document.createElement("button");
        kick.textContent = "Kick";
        kick.dataset.testid = `kick-${m.userId}`;
        kick.onclick = () => attempt(() => client.kickUser(current.roomId, m.userId));
        li.append(" ", kick);
      }
      return li;
    }),
    ...(roster.members.size > members.length ? [item(`… and ${roster.members.size - members.length} more`)] : []),
  );
}

// In a large room presence comes as a digest of what changed since the last one.
function showDigest(change) {
  const { joined, left, changed } = change;
  if (change.reset || change.roster.presenceMode !== "digest" || joined.length + left.length + changed.length === 0) return;
  const parts = [`+${joined.length} joined`, `−${left.length} left`];
  if (changed.length > 0) parts.push(`${changed.length} changed status`);
  $("digest").textContent = parts.join(", ");
}

function showMessage(message) {
  if (!current || message.roomId !== current.roomId) return;
  // History and live messages meet while a room opens: each is shown once, in sequence order.
  const list = $("messages");
  if ([...list.children].some((el) => Number(el.dataset.sequence) === message.sequence)) return;
  const li = item(`${message.senderName}: ${message.text}`, `message-${message.sequence}`);
  li.dataset.sequence = String(message.sequence);
  li.title = new Date(message.sentAt).toLocaleString();
  list.insertBefore(li, [...list.children].find((el) => Number(el.dataset.sequence) > message.sequence) ?? null);
  li.scrollIntoView({ block: "nearest" });
}

async function openRoom(roomId) {
  const result = joined.has(roomId) ? { room: await client.getRoom(roomId) } : await client.joinRoom(roomId);
  joined.add(roomId);
  current = result.room;
  $("room-title").textContent = `${current.displayName} (${current.permission})`;
  $("messages").replaceChildren();
  (await client.getHistory({ roomId, limit: 50 })).forEach(showMessage);
  $("text").disabled = $("send-form").querySelector("button").disabled = false;
  $("owner-tools").hidden = current.ownerId !== me;
  $("permission").value = current.permission;
  $("digest").textContent = "";
  showMembers();
  await refreshRooms();
  notice(`joined ${roomId}`);
}

function closeRoom(reason) {
  $("room-title").textContent = "No room";
  $("messages").replaceChildren();
  $("members").replaceChildren();
  $("member-count").textContent = "";
  $("digest").textContent = "";
  $("owner-tools").hidden = true;
  $("text").disabled = $("send-form").querySelector("button").disabled = true;
  current = undefined;
  notice(reason, "error");
}

async function signIn(name, roles) {
  me = name;
  client = new HubsClient({ url: `${location.origin}/hubs/rooms`, accessTokenProvider: () => devToken(name, roles) });
  client.onStateChanged((s) => ($("state").textContent = `${me} · ${s.current}`));
  client.onMessageReceived(showMessage);
  client.onRosterChanged((change) => {
    if (current?.roomId !== change.roster.roomId) return;
    showMembers();
    showDigest(change);
  });
  // A join or leave changes the room's count in the room list too.
  const refreshRoomList = () => attempt(refreshRooms);
  client.onUserJoined(refreshRoomList);
  client.onUserLeft(refreshRoomList);
  client.onPresenceDigest(refreshRoomList);
  client.onRoomUpdated((room) => {
    if (current?.roomId === room.roomId) {
      current = room;
      $("room-title").textContent = `${room.displayName} (${room.permission})`;
    }
  });
  client.onUserTyping((t) => {
    if (current?.roomId !== t.roomId) return;
    $("typing").textContent = `${t.userId} is typing…`;
    clearTimeout(typingTimers.get(t.roomId));
    typingTimers.set(t.roomId, setTimeout(() => ($("typing").textContent = ""), 3000));
  });
  client.onRemovedFromRoom((removal) => {
    joined.delete(removal.roomId);
    if (current?.roomId === removal.roomId) closeRoom(`You were removed from ${removal.roomId}: ${removal.reason}`);
    void attempt(refreshRooms);
  });
  await client.start();
  $("status").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  await refreshRooms();
}

$("signin-form").onsubmit = (e) => {
  e.preventDefault();
  const roles = $("roles").value.split(",").map((r) => r.trim()).filter(Boolean);
  void attempt(() => signIn($("name").value.trim(), roles));
};

$("status").onchange = () => attempt(() => client.setStatus($("status").value));

$("create-form").onsubmit = (e) => {
  e.preventDefault();
  const allowedRoles = $("new-roles").value.split(",").map((r) => r.trim()).filter(Boolean);
  void attempt(async () => {
    const room = await client.createRoom({ roomId: $("new-room").value.trim(), permission: $("new-permission").value, allowedRoles });
    $("new-room").value = "";
    await openRoom(room.roomId);
  });
};

$("join-form").onsubmit = (e) => {
  e.preventDefault();
  void attempt(() => openRoom($("join-room").value.trim()));
};

let lastTyping = 0;
$("text").oninput = () => {
  if (current && Date.now() - lastTyping > 1000) {
    lastTyping = Date.now();
    void client.typing(current.roomId).catch(() => undefined);
  }
};

$("send-form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!current || !text) return;
  void attempt(async () => {
    await client.sendMessage({ roomId: current.roomId, text });
    $("text").value = "";
  });
};

$("invite-form").onsubmit = (e) => {
  e.preventDefault();
  void attempt(async () => {
    await client.inviteUser(current.roomId, $("invitee").value.trim());
    notice(`invited ${$("invitee").value.trim()}`);
  });
};

$("revoke").onclick = () =>
  attempt(async () => {
    await client.revokeInvite(current.roomId, $("invitee").value.trim());
    notice(`revoked ${$("invitee").value.trim()}`);
  });

$("permission-form").onsubmit = (e) => {
  e.preventDefault();
  void attempt(async () => {
    current = await client.updateRoom({ roomId: current.roomId, permission: $("permission").value });
    notice(`permission is now ${current.permission}`);
  });
};

