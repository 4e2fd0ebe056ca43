/**
 * The platform's `SecretBox`: the master key (the key file, created once with mode 0600 and
 * never half-written even when several processes start at once; or `TRELLIS_SECRET_KEY`,
 * validated by the configuration), sealing bound to a context, refusal of another key's or an
 * altered value, the stored format (a value sealed by the prompts plugin before the box moved
 * to the platform still opens), and the one instance the platform gives every plugin.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Plugin, SecretBox } from "trellis/plugin"
import type { SecretBoxShape } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"
import { TrellisConfig } from "../../src/config/TrellisConfig.ts"
import { coreId } from "../../src/server/CorePlugin.ts"
import * as Server from "../../src/server/Server.ts"
import * as Box from "../../src/secrets/SecretBox.ts"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-secretbox-"))

/** A fixed master key, and a value sealed with it by the prompts plugin's own box (format `tsb1`). */
const vectorKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
const vectorContext = JSON.stringify(["prompts.provider", "openai", "org_default", "team"])
const vectorSealed = "tsb1.c3a579433ba817b9.63DjrfDeT-UG3MYz.IczZqe_P-5Sip6ykhnd_OYyRQp8GIM6Moe4.0PIFFWVY_rJ1i8ucDHRvjA"

describe("secret box: master key", () => {
  it.effect("creates the key file once (mode 0600) and opens later with it", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      try {
        const first = yield* Box.loadMasterKey({ secretKey: undefined, dataDir: dir })
        assert.strictEqual(first._tag, "File")
        if (first._tag !== "File") return
        assert.isTrue(first.created)
        assert.isFalse(first.loose)
        if (process.platform !== "win32") assert.strictEqual(Fs.statSync(first.path).mode & 0o777, 0o600)
        assert.match(Fs.readFileSync(first.path, "utf8"), /^[0-9a-f]{64}\n$/)
        const again = yield* Box.loadMasterKey({ secretKey: Redacted.make(""), dataDir: dir })
        assert.strictEqual(again._tag, "File")
        if (again._tag !== "File") return
        assert.isFalse(again.created)
        const sealed = yield* Box.make(first.key).seal("sk-value", "ctx")
        assert.strictEqual(yield* Box.make(again.key).open(sealed, "ctx"), "sk-value")
        assert.deepStrictEqual(Fs.readdirSync(dir), [Box.keyFileName], "no temporary file is left")
        Fs.writeFileSync(first.path, "not a key\n")
        const broken = yield* Effect.flip(Box.loadMasterKey({ secretKey: undefined, dataDir: dir }))
        assert.strictEqual(broken._tag, "SecretKeyInvalid")
        assert.include(broken.message, "Restore it from a backup")
        assert.strictEqual(Fs.readFileSync(first.path, "utf8"), "not a key\n", "a broken key file is never replaced")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("reports a loose key file, and a data directory it cannot use as no key", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      try {
        const first = yield* Box.loadMasterKey({ secretKey: undefined, dataDir: dir })
        if (first._tag !== "File") return assert.fail(first._tag)
        if (process.platform !== "win32") {
          Fs.chmodSync(first.path, 0o644)
          const loose = yield* Box.loadMasterKey({ secretKey: undefined, dataDir: dir })
          assert.isTrue(loose._tag === "File" && loose.loose)
        }
        // A data directory that is a file: even root cannot create the key file in it.
        const notADirectory = Path.join(dir, "not-a-directory")
        Fs.writeFileSync(notADirectory, "")
        const none = yield* Box.loadMasterKey({ secretKey: undefined, dataDir: notADirectory })
        assert.strictEqual(none._tag, "None")
        if (none._tag !== "None") return
        assert.include(none.reason, Box.keyFileName)
        const refused = yield* Effect.flip(Box.make(undefined, none.reason).seal("x", "c"))
        assert.strictEqual(refused.code, "SECRET_KEY_UNAVAILABLE")
        assert.include(refused.detail ?? "", "TRELLIS_SECRET_KEY")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("several processes starting at once on one data directory all get the one key written", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      try {
        const module = new URL("../../src/secrets/MasterKey.ts", import.meta.url).href
        const at = Date.now() + 1500
        const script = `
          import { Effect } from "effect"
          import { loadMasterKey } from ${JSON.stringify(module)}
          while (Date.now() < ${at}) await new Promise((resolve) => setTimeout(resolve, 1))
          const source = await Effect.runPromise(loadMasterKey({ secretKey: undefined, dataDir: ${JSON.stringify(dir)} }))
          process.stdout.write(JSON.stringify({ tag: source._tag, created: source.created, key: Buffer.from(source.key ?? []).toString("hex") }))
        `
        const run = () =>
          Effect.callback<{ readonly tag: string; readonly created: boolean; readonly key: string }, Error>((resume) => {
            const child = spawn(process.execPath, ["--input-type=module", "--no-warnings", "-e", script], { cwd: process.cwd() })
            let out = ""
            let err = ""
            child.stdout.on("data", (chunk: Buffer) => {
              out += chunk.toString()
            })
            child.stderr.on("data", (chunk: Buffer) => {
              err += chunk.toString()
            })
            child.on("close", (code) => {
              resume(code === 0 ? Effect.succeed(JSON.parse(out)) : Effect.fail(new Error(`exit ${code}: ${err}`)))
            })
          })
        const results = yield* Effect.all(Array.from({ length: 4 }, run), { concurrency: "unbounded" })
        assert.deepStrictEqual(results.map((r) => r.tag), ["File", "File", "File", "File"])
        assert.strictEqual(results.filter((r) => r.created).length, 1, "exactly one process created the file")
        const onDisk = Fs.readFileSync(Path.join(dir, Box.keyFileName), "utf8").trim()
        assert.deepStrictEqual(results.map((r) => r.key), [onDisk, onDisk, onDisk, onDisk])
        assert.deepStrictEqual(Fs.readdirSync(dir), [Box.keyFileName], "no temporary file is left")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 30_000)

  it.effect("opens with the same TRELLIS_SECRET_KEY only, and only in the context it was sealed for", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      try {
        const hex = randomBytes(32).toString("hex")
        const a = yield* Box.loadMasterKey({ secretKey: Redacted.make(hex), dataDir: dir })
        const b = yield* Box.loadMasterKey({ secretKey: Redacted.make(Buffer.from(hex, "hex").toString("base64")), dataDir: dir })
        const c = yield* Box.loadMasterKey({ secretKey: Redacted.make(` ${Buffer.from(hex, "hex").toString("base64url")}\n`), dataDir: dir })
        assert.strictEqual(a._tag, "Environment")
        assert.deepStrictEqual(Fs.readdirSync(dir), [], "no key file with TRELLIS_SECRET_KEY")
        if (a._tag !== "Environment" || b._tag !== "Environment" || c._tag !== "Environment") return assert.fail("not from the environment")
        const processA = Box.make(a.key)
        const processB = Box.make(b.key)
        assert.strictEqual(Box.make(c.key).keyId, processA.keyId)
        const sealed = yield* processA.seal("sk-shared-secret", "org/ws")
        assert.notInclude(sealed, "sk-shared-secret")
        assert.notStrictEqual(yield* processA.seal("sk-shared-secret", "org/ws"), sealed, "a fresh nonce every time")
        assert.strictEqual(yield* processB.open(sealed, "org/ws"), "sk-shared-secret")
        const elsewhere = yield* Effect.flip(processB.open(sealed, "org/other"))
        assert.strictEqual(elsewhere.code, "SECRET_KEY_UNAVAILABLE")
        const other = Box.make(randomBytes(32))
        assert.isFalse(other.canOpen(sealed))
        assert.isTrue(processB.canOpen(sealed))
        const refused = yield* Effect.flip(other.open(sealed, "org/ws"))
        assert.include(refused.detail ?? "", "TRELLIS_SECRET_KEY")
        const tampered = sealed.slice(0, -2) + (sealed.endsWith("AA") ? "BB" : "AA")
        assert.strictEqual((yield* Effect.flip(processA.open(tampered, "org/ws"))).code, "SECRET_KEY_UNAVAILABLE")
        assert.strictEqual((yield* Effect.flip(processA.open("not sealed", "org/ws"))).code, "SECRET_KEY_UNAVAILABLE")
        const bad = yield* Effect.flip(Box.loadMasterKey({ secretKey: Redacted.make("too-short"), dataDir: dir }))
        assert.include(bad.message, "TRELLIS_SECRET_KEY")
        const none = Box.make(undefined)
        assert.strictEqual((yield* Effect.flip(none.seal("x", "c"))).code, "SECRET_KEY_UNAVAILABLE")
        assert.isTrue(Option.isNone(Option.fromNullishOr(none.keyId)))
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("keeps the stored format: a value the prompts plugin sealed still opens", () =>
    Effect.gen(function*() {
      const key = Box.parseKey(vectorKey)
      if (key === undefined) return assert.fail("the vector key parses")
      const box = Box.make(key)
      assert.strictEqual(box.keyId, vectorSealed.split(".")[1])
      assert.strictEqual(yield* box.open(vectorSealed, vectorContext), "sk-compat-0123456789abcdef")
      assert.match(yield* box.seal("x", vectorContext), /^tsb1\.[0-9a-f]{16}\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/)
    }))

  it.effect("TRELLIS_SECRET_KEY is a platform variable, validated at start without echoing it", () =>
    Effect.gen(function*() {
      const hex = randomBytes(32).toString("hex")
      const config = yield* TrellisConfig.fromRecord({ TRELLIS_SECRET_KEY: ` ${hex} ` })
      assert.strictEqual(config.secretKey && Redacted.value(config.secretKey), hex)
      assert.notInclude(String(config.secretKey), hex)
      const base64 = yield* TrellisConfig.fromRecord({ TRELLIS_SECRET_KEY: Buffer.from(hex, "hex").toString("base64") })
      assert.isDefined(base64.secretKey)
      assert.isUndefined((yield* TrellisConfig.fromRecord({})).secretKey)
      assert.isUndefined((yield* TrellisConfig.fromRecord({ TRELLIS_SECRET_KEY: "  " })).secretKey)
      for (const bad of [hex.slice(2), `${hex}00`, "my-secret-passphrase", randomBytes(16).toString("base64")]) {
        const error = yield* Effect.flip(TrellisConfig.fromRecord({ TRELLIS_SECRET_KEY: bad }))
        assert.strictEqual(error._tag, "ConfigInvalid")
        assert.include(error.message, "TRELLIS_SECRET_KEY")
        assert.include(error.message, "64 hex characters or base64")
        assert.notInclude(error.message, bad)
      }
    }))
})

/** A plugin that only requires the platform's `SecretBox`, and keeps the one it was given. */
const probe = () => {
  const boxes: Array<SecretBoxShape> = []
  const plugin = Plugin.make({
    id: "secretprobe",
    version: "0.0.1",
    description: "Test plugin that requires SecretBox",
    groups: [],
    migrations: [],
    layer: Layer.effectDiscard(Effect.gen(function*() {
      boxes.push(yield* SecretBox)
    }))
  })
  return { plugin, boxes }
}

const withFile = probe()
const withVariable = probe()
const variableKey = randomBytes(32).toString("hex")

describe("secret box: the platform's service", () => {
  it.effect("SECRET_KEY_UNAVAILABLE is a platform problem, whichever plugins are loaded", () =>
    Effect.gen(function*() {
      for (const plugins of [[], [PromptsPlugin]]) {
        const composition = yield* Server.compose(plugins)
        const entries = composition.problems.filter((p) => p.code === "SECRET_KEY_UNAVAILABLE")
        assert.deepStrictEqual(entries.map((p) => [p.owner, p.status]), [[coreId, 503]])
      }
    }))

  layer(TestKit.layer({ plugins: [withFile.plugin] }), { timeout: 120_000 })((it) => {
    it.effect("is built once from the data directory's key file and given to plugins", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        assert.strictEqual(withFile.boxes.length, 1)
        const box = withFile.boxes[0]
        const path = Path.join(kit.config.dataDir, Box.keyFileName)
        if (process.platform !== "win32") assert.strictEqual(Fs.statSync(path).mode & 0o777, 0o600)
        const fileKey = Box.parseKey(Fs.readFileSync(path, "utf8"))
        if (fileKey === undefined) return assert.fail("the key file holds a key")
        const sameKey = Box.make(fileKey)
        assert.strictEqual(box.keyId, sameKey.keyId)
        const sealed = yield* box.seal("webhook-secret", "probe/1")
        assert.strictEqual(yield* sameKey.open(sealed, "probe/1"), "webhook-secret")
        assert.strictEqual(yield* box.open(yield* sameKey.seal("other", "probe/2"), "probe/2"), "other")
      }))

  })

  layer(
    TestKit.layer({ plugins: [withVariable.plugin], config: { secretKey: Redacted.make(variableKey) } }),
    { timeout: 120_000 }
  )((it) => {
    it.effect("uses TRELLIS_SECRET_KEY when set, and writes no key file", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        assert.strictEqual(withVariable.boxes.length, 1)
        const key = Box.parseKey(variableKey)
        if (key === undefined) return assert.fail("the key parses")
        assert.strictEqual(withVariable.boxes[0].keyId, Box.make(key).keyId)
        assert.isFalse(Fs.existsSync(Path.join(kit.config.dataDir, Box.keyFileName)))
      }))
  })
})
