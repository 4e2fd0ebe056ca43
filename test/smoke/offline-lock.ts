/**
 * Writes a package-lock.json for a folder whose package.json depends on local tarballs
 * (`file:` specs, e.g. the packed trellis) and on packages this repository already locks, so
 * that `npm ci --offline` installs it from the npm cache that the repository's own `npm ci`
 * filled (no registry request: `npm install` would ask the registry for each package's
 * metadata, which that cache does not hold).
 *
 *   node test/smoke/offline-lock.ts <folder>
 *
 * Every package of the repository's lock is offered (a package nothing needs is left out by
 * npm); each local tarball is added with its integrity, each local folder as a link.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

interface LockEntry {
  readonly version?: string
  readonly resolved?: string
  readonly integrity?: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly bin?: Readonly<Record<string, string>>
  readonly license?: string
  readonly dev?: boolean
  readonly link?: boolean
  readonly [key: string]: unknown
}
interface Manifest {
  readonly name: string
  readonly version?: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly devDependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly bin?: Readonly<Record<string, string>> | string
  readonly license?: string
}

const repo = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")
const folder = Path.resolve(process.argv[2] ?? ".")
const manifest = JSON.parse(Fs.readFileSync(Path.join(folder, "package.json"), "utf8")) as Manifest
const repoLock = JSON.parse(Fs.readFileSync(Path.join(repo, "package-lock.json"), "utf8")) as {
  readonly packages: Readonly<Record<string, LockEntry>>
}

const packages: Record<string, LockEntry> = {}
for (const [key, entry] of Object.entries(repoLock.packages)) {
  if (key === "" || entry.link === true) continue
  const { dev: _dev, ...rest } = entry
  packages[key] = rest
}

// The local tarballs: read their manifest with `tar` (present wherever npm packs).
const tarManifest = (file: string): Manifest => {
  return JSON.parse(execFileSync("tar", ["-xOzf", file, "package/package.json"], { encoding: "utf8" })) as Manifest
}
const all = { ...manifest.dependencies, ...manifest.devDependencies }
for (const [name, spec] of Object.entries(all)) {
  if (!spec.startsWith("file:")) continue
  const file = Path.resolve(folder, spec.slice("file:".length))
  if (Fs.statSync(file).isDirectory()) {
    // a folder: npm links it (node_modules/<name> -> the folder), its own node_modules stay its own
    const local = JSON.parse(Fs.readFileSync(Path.join(file, "package.json"), "utf8")) as Manifest
    const relative = Path.relative(folder, file)
    packages[`node_modules/${name}`] = { resolved: relative, link: true }
    packages[relative] = {
      name: local.name,
      version: local.version ?? "0.0.0",
      ...(local.peerDependencies === undefined ? {} : { peerDependencies: local.peerDependencies }),
      ...(local.devDependencies === undefined ? {} : { devDependencies: local.devDependencies })
    }
    continue
  }
  const local = tarManifest(file)
  const integrity = "sha512-" + createHash("sha512").update(Fs.readFileSync(file)).digest("base64")
  const bin = typeof local.bin === "string" ? { [name]: local.bin } : local.bin
  packages[`node_modules/${name}`] = {
    version: local.version ?? "0.0.0",
    resolved: spec,
    integrity,
    ...(local.license === undefined ? {} : { license: local.license }),
    ...(local.dependencies === undefined ? {} : { dependencies: local.dependencies }),
    ...(local.peerDependencies === undefined ? {} : { peerDependencies: local.peerDependencies }),
    ...(bin === undefined ? {} : { bin })
  }
}

const lock = {
  name: manifest.name,
  version: manifest.version ?? "0.0.0",
  lockfileVersion: 3,
  requires: true,
  packages: {
    "": {
      name: manifest.name,
      version: manifest.version ?? "0.0.0",
      ...(manifest.dependencies === undefined ? {} : { dependencies: manifest.dependencies }),
      ...(manifest.devDependencies === undefined ? {} : { devDependencies: manifest.devDependencies }),
      ...(manifest.peerDependencies === undefined ? {} : { peerDependencies: manifest.peerDependencies })
    },
    ...packages
  }
}
Fs.writeFileSync(Path.join(folder, "package-lock.json"), JSON.stringify(lock, null, 2) + "\n")
