// Runs calls of the official SDK (`new TriggerClient({...})`, @trigger.dev/sdk 4.8.3) for the
// conformance suite and writes what each call resolved to or threw.
//
//   TRIGGER_SDK_DIR=<node_modules/@trigger.dev/sdk> node driver.mjs job.json out.json
//
// job.json: {"concurrency": 8, "cases": [case, ...]}; a case:
//   name               unique id
//   client             TriggerClient config (TS names; URLs already filled in)
//   env                env vars set while the case runs ({"X": null} unsets X)
//   global_configure   config passed to configure() for the case (reset afterwards)
//   exclusive          run alone (set automatically for env / global_configure / shims)
//   timeout_ms         give up on the case after this long (default 60000)
//   steps              [{id, namespace, method, args, consume, shim}]; a single-call case
//                      may give namespace/method/args/consume/shim at the top level instead
// Argument markers: {"$date": iso}, {"$bigint": "123"}, {"$set": [...]}, {"$map": [[k, v]]},
// {"$undefined": true}, {"$repeat": {"char", "count"}}, {"$async_iterable": [...]},
// {"$ref": "<step id>.<path>"} (a value from an earlier step's raw result).
// consume: "await" (default), "async_iterate", "read_stream", "async_iterate_first", "next_page",
// "previous_page" (await the page, then fetch the next/previous one: result is [page, page]).
// shim: {"global_name": "X"} sets globalThis.name = "X" during the call (envvars.update bug).
// A step {"set_env": {...}} changes env vars between construction and the next calls.
//
// out.json: {"sdk_version", "node_version", "inventory": {namespace: [keys]},
//            "results": {name: {"ok", "result" | "error", "steps": [...]}}}
// Results and errors use the same markers, plus {"$class": name, ...} for class instances,
// {"$function": name} for functions; JS errors become {class, name, message, status, code,
// param, type, error, body, headers, phase, batchId, itemCount, isRateLimited, retryAfterMs,
// millisecondsUntilReset, cause}.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [jobFile, outFile] = process.argv.slice(2);
const sdkDir = process.env.TRIGGER_SDK_DIR;
if (!jobFile || !outFile || !sdkDir) {
  console.error("usage: TRIGGER_SDK_DIR=... node driver.mjs job.json out.json");
  process.exit(2);
}

const sdkPackage = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8"));
const entry = sdkPackage.exports["."].import.default;
const sdk = await import(pathToFileURL(join(sdkDir, entry)).href);
const { TriggerClient, configure } = sdk;

const job = JSON.parse(readFileSync(jobFile, "utf8"));

// ---------------------------------------------------------------------------- markers in

function lookup(refs, path) {
  const [id, ...rest] = path.split(".");
  if (!(id in refs)) throw new Error(`$ref to unknown or failed step ${id}`);
  let value = refs[id];
  for (const key of rest) {
    value = value == null ? undefined : value[/^\d+$/.test(key) ? Number(key) : key];
  }
  return value;
}

function revive(value, refs) {
  if (Array.isArray(value)) return value.map((item) => revive(item, refs));
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith("$")) {
    const inner = value[keys[0]];
    switch (keys[0]) {
      case "$date":
        return new Date(inner);
      case "$bigint":
        return BigInt(inner);
      case "$set":
        return new Set(inner.map((item) => revive(item, refs)));
      case "$map":
        return new Map(inner.map(([k, v]) => [revive(k, refs), revive(v, refs)]));
      case "$undefined":
        return undefined;
      case "$repeat":
        return inner.char.repeat(inner.count);
      case "$async_iterable": {
        const items = inner.map((item) => revive(item, refs));
        return (async function* () {
          for (const item of items) yield item;
        })();
      }
      case "$ref":
        return lookup(refs, inner);
      default:
        break;
    }
  }
  const out = {};
  for (const key of keys) out[key] = revive(value[key], refs);
  return out;
}

// --------------------------------------------------------------------------- markers out

const ERROR_FIELDS = [
  "status",
  "code",
  "param",
  "type",
  "error",
  "body",
  "headers",
  "phase",
  "batchId",
  "itemCount",
  "isRateLimited",
  "retryAfterMs",
  "millisecondsUntilReset",
];

function encodeError(error, depth = 0) {
  if (!(error instanceof Error) && (error === null || typeof error !== "object")) {
    return { class: typeof error, name: typeof error, message: String(error) };
  }
  const out = { class: error.constructor?.name, name: error.name, message: error.message };
  for (const field of ERROR_FIELDS) {
    if (error[field] !== undefined) out[field] = encode(error[field], depth + 1);
  }
  if (error.cause !== undefined && depth < 3) out.cause = encodeError(error.cause, depth + 1);
  return out;
}

function encode(value, depth = 0) {
  if (depth > 40) return { $truncated: true };
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : { $number: String(value) };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (typeof value === "function") return { $function: value.name };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString() };
  if (value instanceof Error) return { $error: encodeError(value, depth) };
  if (value instanceof Map) return { $map: [...value.entries()].map(([k, v]) => [encode(k, depth + 1), encode(v, depth + 1)]) };
  if (value instanceof Set) return { $set: [...value].map((item) => encode(item, depth + 1)) };
  if (Array.isArray(value)) return value.map((item) => encode(item, depth + 1));
  const name = value.constructor?.name;
  if (name && name !== "Object" && /Page$/.test(name)) {
    const page = { $class: name, data: encode(value.data, depth + 1) };
    if (value.pagination !== undefined) page.pagination = encode(value.pagination, depth + 1);
    return page;
  }
  const out = name && name !== "Object" ? { $class: name } : {};
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined) out[key] = encode(value[key], depth + 1);
  }
  return out;
}

// ------------------------------------------------------------------------------- running

function stepsOf(testCase) {
  if (testCase.steps) return testCase.steps;
  return [
    {
      id: "call",
      namespace: testCase.namespace,
      method: testCase.method,
      args: testCase.args ?? [],
      consume: testCase.consume,
      shim: testCase.shim,
    },
  ];
}

async function consume(returned, mode) {
  switch (mode ?? "await") {
    case "await":
      return await returned;
    case "async_iterate":
    case "read_stream": {
      // fetchStream resolves to a ReadableStream, which is async-iterable on Node 20.
      const items = [];
      for await (const item of await returned) items.push(item);
      return items;
    }
    case "async_iterate_first": {
      for await (const item of returned) return [item];
      return [];
    }
    case "next_page": {
      const page = await returned;
      return [page, await page.getNextPage()];
    }
    case "previous_page": {
      const page = await returned;
      return [page, await page.getPreviousPage()];
    }
    default:
      throw new Error(`unknown consume mode ${mode}`);
  }
}

async function runStep(client, step, refs) {
  let target = client;
  for (const part of step.namespace.split(".")) target = target?.[part];
  const fn = target?.[step.method];
  if (typeof fn !== "function") throw new Error(`no TriggerClient method ${step.namespace}.${step.method}`);
  const args = revive(step.args ?? [], refs);
  const hadName = Object.prototype.hasOwnProperty.call(globalThis, "name");
  const savedName = globalThis.name;
  if (step.shim?.global_name !== undefined) globalThis.name = step.shim.global_name;
  try {
    return await consume(fn.apply(target, args), step.consume);
  } finally {
    if (step.shim?.global_name !== undefined) {
      if (hadName) globalThis.name = savedName;
      else delete globalThis.name;
    }
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`driver timeout: ${what} did not settle in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runCase(testCase) {
  const savedEnv = {};
  for (const [key, value] of Object.entries(testCase.env ?? {})) {
    savedEnv[key] = process.env[key];
    if (value === null) delete process.env[key];
    else process.env[key] = value;
  }
  if (testCase.global_configure) configure(revive(testCase.global_configure, {}));
  const refs = {};
  const steps = [];
  try {
    const client = new TriggerClient(revive(testCase.client ?? {}, {}));
    for (const step of stepsOf(testCase)) {
      if (step.set_env) {
        for (const [key, value] of Object.entries(step.set_env)) {
          if (!(key in savedEnv)) savedEnv[key] = process.env[key];
          if (value === null) delete process.env[key];
          else process.env[key] = value;
        }
        continue;
      }
      const started = Date.now();
      try {
        const raw = await withTimeout(runStep(client, step, refs), testCase.timeout_ms ?? 60000, step.id);
        refs[step.id] = raw;
        steps.push({ id: step.id, ok: true, result: encode(raw), ms: Date.now() - started });
      } catch (error) {
        steps.push({ id: step.id, ok: false, error: encodeError(error), ms: Date.now() - started });
        if (!testCase.continue_on_error) break;
      }
    }
  } catch (error) {
    steps.push({ id: "construct", ok: false, error: encodeError(error) });
  } finally {
    if (testCase.global_configure) configure({});
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  const last = steps[steps.length - 1] ?? { ok: false, error: { class: "Error", message: "no steps" } };
  const outcome = last.ok ? { ok: true, result: last.result } : { ok: false, error: last.error };
  return { ...outcome, steps };
}

function isExclusive(testCase) {
  return Boolean(
    testCase.exclusive ||
      (testCase.env && Object.keys(testCase.env).length) ||
      testCase.global_configure ||
      stepsOf(testCase).some((step) => step.shim || step.set_env),
  );
}

const results = {};
const shared = job.cases.filter((testCase) => !isExclusive(testCase));
const exclusive = job.cases.filter(isExclusive);
let next = 0;
async function worker() {
  while (next < shared.length) {
    const testCase = shared[next++];
    results[testCase.name] = await runCase(testCase);
  }
}
await Promise.all(Array.from({ length: Math.max(1, job.concurrency ?? 8) }, worker));
for (const testCase of exclusive) results[testCase.name] = await runCase(testCase);

const inventory = {};
const probe = new TriggerClient({ accessToken: "tr_dev_inventory", baseURL: "http://127.0.0.1:9" });
for (const [namespace, value] of Object.entries(probe)) {
  if (value && typeof value === "object") {
    inventory[namespace] = Object.keys(value);
    for (const [key, inner] of Object.entries(value)) {
      if (inner && typeof inner === "object") inventory[`${namespace}.${key}`] = Object.keys(inner);
    }
  }
}

writeFileSync(
  outFile,
  JSON.stringify({ sdk_version: sdkPackage.version, node_version: process.version, inventory, results }),
);
// Open keep-alive sockets must not keep the process alive.
process.exit(0);
