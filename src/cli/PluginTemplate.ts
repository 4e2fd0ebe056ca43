/**
 * The files of a new plugin package (`trellis plugin new <name>`), in one place: the layout of
 * examples/hello-plugin as an npm package (contract, service, handlers, migration, a test with
 * the test kit, README, build to JavaScript with declarations, `effect` and `trellis` as peer
 * dependencies). Placeholders: __PACKAGE__ (npm name), __DIR__ (folder), __ID__ (plugin id),
 * __ID_UPPER__, __ID_CAMEL__, and the dependency ranges below.
 *
 * The templates are text, so that the package and the single binary carry them without files.
 */

/** Dependency ranges of a new plugin: the ones this Trellis is built and tested with. */
export const ranges = {
  __TRELLIS_RANGE__: "^0.1.0",
  __EFFECT_RANGE__: "^4.1.0",
  __EFFECT_VITEST_RANGE__: "^4.0.5",
  __TYPES_NODE_RANGE__: "^24.19.2",
  __TYPESCRIPT_RANGE__: "^7.0.2",
  __VITEST_RANGE__: "^5.1.1"
} as const

export interface TemplateFile {
  readonly path: string
  readonly text: string
}

export const files: ReadonlyArray<TemplateFile> = [
  {
    path: "package.json",
    text: `{
  "name": "__PACKAGE__",
  "version": "0.1.0",
  "description": "A Trellis plugin: __ID__",
  "type": "module",
  "license": "MIT",
  "exports": {
    ".": { "types": "./dist/mod.d.ts", "default": "./dist/mod.js" },
    "./contract": { "types": "./dist/Api.d.ts", "default": "./dist/Api.js" }
  },
  "files": ["dist"],
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "check": "tsc --noEmit -p tsconfig.json",
    "test": "vitest run"
  },
  "peerDependencies": {
    "effect": "__EFFECT_RANGE__",
    "trellis": "__TRELLIS_RANGE__"
  },
  "devDependencies": {
    "@effect/vitest": "__EFFECT_VITEST_RANGE__",
    "@types/node": "__TYPES_NODE_RANGE__",
    "effect": "__EFFECT_RANGE__",
    "trellis": "__TRELLIS_RANGE__",
    "typescript": "__TYPESCRIPT_RANGE__",
    "vitest": "__VITEST_RANGE__"
  }
}
`
  },
  {
    path: "tsconfig.json",
    text: `{
  "compilerOptions": {
    "target": "ES2024",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2024", "DOM"],
    "types": ["node"],
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "verbatimModuleSyntax": true,
    "erasableSyntaxOnly": true,
    "allowImportingTsExtensions": true,
    "noEmit": true,
    "skipLibCheck": true,
    "isolatedModules": true
  },
  "include": ["src", "test"]
}
`
  },
  {
    path: "tsconfig.build.json",
    text: `{
  "extends": "./tsconfig.json",
  "compilerOptions": {
    "noEmit": false,
    "declaration": true,
    "rewriteRelativeImportExtensions": true,
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src"]
}
`
  },
  {
    path: ".gitignore",
    text: `node_modules/
dist/
*.tgz
`
  },
  {
    path: "README.md",
    text: `# __PACKAGE__

A [Trellis](https://www.npmjs.com/package/trellis) plugin, scaffolded by \`trellis plugin new\`.
It serves items under \`/api/__ID__/items\`, stored in its own PostgreSQL schema \`__ID__\`.

| file | what |
| --- | --- |
| \`src/Domain.ts\`, \`src/Errors.ts\`, \`src/Api.ts\` | the client-safe contract: schemas, problems, HTTP endpoints (each with its \`Requires\`) |
| \`src/Items.ts\` | the service: SQL on the plugin's own tables, scoped to the caller's organization |
| \`src/Http.ts\` | the handlers: thin, they call the service |
| \`src/migrations/\` | schema migrations, imported statically and listed in \`src/Plugin.ts\` |
| \`src/Plugin.ts\`, \`src/mod.ts\` | the plugin value; the package's default export |
| \`test/plugin.test.ts\` | tests through the real server (\`trellis/testing\`) |

## Develop

\`\`\`sh
npm install        # effect, trellis, TypeScript, vitest (dev dependencies)
npm test           # the tests, on an embedded database (TRELLIS_TEST_DATABASE_URL for PostgreSQL)
npm run check      # type check
npm run build      # JavaScript and declarations in dist/
\`\`\`

\`effect\` and \`trellis\` are peer dependencies: the server that loads the plugin provides them,
and the plugin must use the server's copies (a second copy of \`effect\` is refused at start).
Never bundle them into \`dist/\`.

## Use it in a server

In the folder the server runs from (where \`trellis\` is installed):

\`\`\`sh
npm install __PACKAGE__           # or a path: npm install ../__DIR__, or a tarball from \`npm pack\`
TRELLIS_PLUGINS=__PACKAGE__ npx trellis serve
\`\`\`

Service keys may be given the scopes \`__ID__:read\` and \`__ID__:write\`.
`
  },
  {
    path: "src/Domain.ts",
    text: `/** The plugin's domain: an item. Client-safe (no server code). */
import { Schema } from "effect"

export const ItemId = Schema.String.pipe(Schema.brand("__ID__/ItemId"))
export type ItemId = typeof ItemId.Type

export class Item extends Schema.Class<Item>("__ID__/Item")({
  id: ItemId,
  name: Schema.String,
  createdAt: Schema.String
}) {}

export const CreateItem = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
})
`
  },
  {
    path: "src/Errors.ts",
    text: `/** The plugin's problems: each has a status, a stable code and a problem \`type\`. Client-safe. */
import { Schema } from "effect"
import { Problem } from "trellis/contract"

export class ItemNotFound extends Problem<ItemNotFound>()("ItemNotFound", {
  code: "__ID_UPPER___ITEM_NOT_FOUND",
  status: 404,
  title: "Item not found"
}, { itemId: Schema.String }) {}
`
  },
  {
    path: "src/Api.ts",
    text: `/**
 * The plugin's HTTP contract. Client-safe: a typed client imports it (\`__PACKAGE__/contract\`)
 * without any server code. Every endpoint says what access it requires (\`Requires\`).
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Authentication, Requirement, Requires, RpcFromApi } from "trellis/contract"
import { CreateItem, Item } from "./Domain.ts"
import { ItemNotFound } from "./Errors.ts"

export class ItemsGroup extends HttpApiGroup.make("__ID__")
  .add(
    HttpApiEndpoint.get("list", "/api/__ID__/items", {
      success: Schema.Struct({ items: Schema.Array(Item) })
    }).annotate(Requires, Requirement.read("__ID__")),
    HttpApiEndpoint.post("create", "/api/__ID__/items", {
      payload: CreateItem,
      success: Item.pipe(HttpApiSchema.status(201))
    }).annotate(Requires, Requirement.write("__ID__")),
    HttpApiEndpoint.get("get", "/api/__ID__/items/:id", {
      params: { id: Schema.String },
      success: Item,
      error: ItemNotFound
    }).annotate(Requires, Requirement.read("__ID__"))
  )
  .middleware(Authentication)
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class PluginApi extends HttpApi.make("__ID__").add(ItemsGroup) {}

/**
 * The same operations as RPCs at \`/rpc\` (tags \`__ID__.List\`, \`__ID__.Create\`, \`__ID__.Get\`), derived
 * from the endpoints: nothing to declare or handle twice.
 */
export const ItemsRpcs = RpcFromApi.make("__ID__", [ItemsGroup])
`
  },
  {
    path: "src/Items.ts",
    text: `/**
 * The plugin's service: items stored in its own PostgreSQL schema (\`__ID__\`). Every item
 * belongs to the caller's organization, and every query says so: another organization's item
 * is simply not found.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, Row } from "trellis/plugin"
import { Item, ItemId } from "./Domain.ts"
import { ItemNotFound } from "./Errors.ts"

// \`Row.Timestamp\` reads a timestamptz the same way on PGlite and PostgreSQL (ISO text, ms).
const ItemRow = Schema.Struct({ id: Schema.String, name: Schema.String, created_at: Row.Timestamp })
const decodeRows = Row.decode(ItemRow)

const toItem = (row: typeof ItemRow.Type) =>
  new Item({ id: ItemId.make(row.id), name: row.name, createdAt: row.created_at })

export class Items extends Context.Service<Items, {
  readonly create: (name: string) => Effect.Effect<Item, never, CurrentPrincipal>
  readonly get: (id: string) => Effect.Effect<Item, ItemNotFound, CurrentPrincipal>
  readonly list: Effect.Effect<ReadonlyArray<Item>, never, CurrentPrincipal>
}>()("__ID__/Items") {
  static readonly layer = Layer.effect(
    Items,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      const create = Effect.fn("Items.create")(function*(name: string) {
        const { organizationId } = yield* CurrentPrincipal
        const rows = yield* sql\`
          INSERT INTO __ID__.items (id, organization_id, name)
          VALUES (\${crypto.randomUUID()}, \${organizationId}, \${name})
          RETURNING id, name, created_at
        \`.pipe(Effect.flatMap(decodeRows), Row.dieOnInfrastructure)
        return toItem(rows[0])
      })

      const get = Effect.fn("Items.get")(function*(id: string) {
        const { organizationId } = yield* CurrentPrincipal
        const rows = yield* sql\`
          SELECT id, name, created_at FROM __ID__.items
          WHERE id = \${id} AND organization_id = \${organizationId}
        \`.pipe(Effect.flatMap(decodeRows), Row.dieOnInfrastructure)
        const row = rows[0]
        if (row === undefined) return yield* new ItemNotFound({ itemId: id, detail: \`No item with id \${id}.\` })
        return toItem(row)
      })

      const list = Effect.flatMap(CurrentPrincipal, ({ organizationId }) =>
        sql\`
          SELECT id, name, created_at FROM __ID__.items
          WHERE organization_id = \${organizationId} ORDER BY created_at, id
        \`.pipe(Effect.flatMap(decodeRows), Effect.map((rows) => rows.map(toItem)), Row.dieOnInfrastructure))

      return Items.of({ create, get, list })
    })
  )
}
`
  },
  {
    path: "src/Http.ts",
    text: `/** The plugin's HTTP handlers: thin, they call the service. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { PluginApi } from "./Api.ts"
import { Items } from "./Items.ts"

export const ItemsHttp = HttpApiBuilder.group(
  PluginApi,
  "__ID__",
  Effect.fn(function*(handlers) {
    const items = yield* Items
    return handlers
      .handle("list", () => Effect.map(items.list, (list) => ({ items: list })))
      .handle("create", ({ payload }) => items.create(payload.name))
      .handle("get", ({ params }) => items.get(params.id))
  })
)
`
  },
  {
    path: "src/migrations/0001_create_items.ts",
    text: `/** Creates the plugin's table inside its own schema (\`__ID__\`, created by the host). */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_items",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql\`
      CREATE TABLE __ID__.items (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    \`
    yield* sql\`CREATE INDEX items_organization_idx ON __ID__.items (organization_id, created_at)\`
  })
}
`
  },
  {
    path: "src/Plugin.ts",
    text: `/** The plugin value: what \`TRELLIS_PLUGINS=__PACKAGE__\` loads (the package's default export). */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { ItemsGroup, ItemsRpcs } from "./Api.ts"
import { ItemsHttp } from "./Http.ts"
import { Items } from "./Items.ts"
import { migration as createItems } from "./migrations/0001_create_items.ts"

export const __ID_CAMEL__Plugin = Plugin.make({
  id: "__ID__",
  version: "0.1.0",
  description: "__PACKAGE__: items",
  groups: [ItemsGroup],
  rpc: ItemsRpcs,
  migrations: [createItems],
  // scopes and problems are derived from the endpoints' \`Requires\` and errors at start.
  layer: ItemsHttp.pipe(Layer.provideMerge(Items.layer))
})
`
  },
  {
    path: "src/mod.ts",
    text: `/** The package entry point: the default export is the plugin. */
import { __ID_CAMEL__Plugin } from "./Plugin.ts"

export { __ID_CAMEL__Plugin }
export default __ID_CAMEL__Plugin
`
  },
  {
    path: "vitest.config.ts",
    text: `/** The run's migrated template database (\`trellis/testing\`): each test server starts from a copy. */
import { defineConfig } from "vitest/config"

export default defineConfig({ test: { globalSetup: ["test/globalSetup.ts"] } })
`
  },
  {
    path: "test/globalSetup.ts",
    text: `/** Creates the run's empty embedded database once; the kit migrates and copies it per server. */
export { globalSetup as default } from "trellis/testing"
`
  },
  {
    path: "test/plugin.test.ts",
    text: `/**
 * The plugin's tests: the test kit boots the real Trellis platform with just this plugin on a
 * fresh database (embedded, or PostgreSQL when TRELLIS_TEST_DATABASE_URL is set), and the
 * tests talk HTTP to it.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "trellis/client"
import * as TestKit from "trellis/testing"
import { PluginApi } from "../src/Api.ts"
import { __ID_CAMEL__Plugin } from "../src/Plugin.ts"

describe("__ID__ plugin", () => {
  layer(TestKit.layer({ plugins: [__ID_CAMEL__Plugin] }), { timeout: 120_000 })((it) => {
    it.effect("creates an item and reads it back through the typed client", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Client.make(PluginApi, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const created = yield* client.__ID__.create({ payload: { name: "first" } })
        assert.strictEqual(created.name, "first")
        const read = yield* client.__ID__.get({ params: { id: created.id } })
        assert.deepStrictEqual(read, created)
        const { items } = yield* client.__ID__.list()
        assert.isTrue(items.some((item) => item.id === created.id))
      }))

    it.effect("answers a 404 problem for an unknown id, a 400 for an empty name", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const missing = yield* kit.request("GET", "/api/__ID__/items/nope")
        assert.strictEqual(missing.status, 404)
        const body = (yield* missing.json) as { code: string }
        assert.strictEqual(body.code, "__ID_UPPER___ITEM_NOT_FOUND")
        const empty = yield* kit.request("POST", "/api/__ID__/items", { body: { name: "" } })
        assert.strictEqual(empty.status, 400)
      }))

    it.effect("needs a token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/api/__ID__/items", { token: null })
        assert.strictEqual(response.status, 401)
      }))
  })
})
`
  }
]
