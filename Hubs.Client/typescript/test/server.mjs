// Runs Hubs.Server as a child process for the TypeScript client's tests, as the NUnit suite does for the .NET client.
// HUBS_SERVER_DLL: the built Hubs.Server.dll; HUBS_REDIS: a redis-server to keep state across a restart.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";

const dll = process.env.HUBS_SERVER_DLL;
const redis = process.env.HUBS_REDIS;
if (!dll) {
  throw new Error("Set HUBS_SERVER_DLL to a built Hubs.Server.dll (the NUnit TypeScriptClientTests do this).");
}

/** One deployment: its Redis key prefix survives restarts of its server; `settings` are more environment variables. */
export function deployment(settings = {}) {
  const prefix = `ts-${randomUUID().slice(0, 8)}`;
  return { start: (port = 0) => startServer(prefix, port, settings) };
}

async function startServer(prefix, port, settings) {
  const env = {
    ...process.env,
    ASPNETCORE_ENVIRONMENT: "Development",
    DOTNET_ENVIRONMENT: "Development",
    Logging__LogLevel__Default: "Warning",
    "Logging__LogLevel__Microsoft.Hosting.Lifetime": "Information",
    Hubs__Limits__ConnectsPerMinutePerAddress: "10000",
    Hubs__Limits__MessagesPerSecondPerUserPerRoom: "200",
    ...settings,
  };
  if (redis) {
    env.Redis__Configuration = redis;
    env.Redis__Prefix = prefix;
  }

  const child = spawn("dotnet", [dll, "--urls", `http://127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within 25 s:\n${output}`)), 25_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`the server exited with ${code}:\n${output}`)));
  });
  return {
    url,
    hubUrl: `${url}/hubs/rooms`,
    port: Number(new URL(url).port),
    /** SIGKILL: no drain, no goodbye; the client sees the connection drop. */
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

/** A dev token from the server's Development-only endpoint. */
export async function devToken(serverUrl, sub, name = sub, roles = []) {
  const response = await fetch(`${serverUrl}/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub, name, roles, lifetimeSeconds: 3600 }),
  });
  if (!response.ok) throw new Error(`dev token: HTTP ${response.status}`);
  return (await response.json()).token;
}

/** Resolves with the first value `predicate` accepts among those `register` reports, within `ms`. */
export function nextEvent(register, predicate = () => true, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error("event did not arrive in time"));
    }, ms);
    const unsubscribe = register((item) => {
      if (predicate(item)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(item);
      }
    });
  });
}

/**
 * A token provider whose answers can be held back: after `hold()`, (re)connects wait until `release()`, so that a
 * client stays away while the test sends what it must recover.
 */
export function heldTokens(provide) {
  let held = false;
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  return {
    provider: async () => {
      if (held) await gate;
      return provide();
    },
    hold: () => {
      held = true;
    },
    release: () => release(),
  };
}

/** Polls `condition` until it holds, within `ms`. */
export async function until(condition, ms = 10_000, what = "condition") {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
