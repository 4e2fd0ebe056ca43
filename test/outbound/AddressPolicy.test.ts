/**
 * The address classifier behind the platform's outbound client: every spelling of an internal
 * address is refused (as a URL parser hands it over, so `new URL` runs first), public
 * addresses pass, and IPv6 forms that carry an IPv4 address are judged by that address.
 */
import { assert, describe, it } from "@effect/vitest"
import { classify, isInternalName } from "../../src/outbound/AddressPolicy.ts"

/** The host as the outbound client sees it: what `new URL` makes of it. */
const hostOf = (host: string) => new URL(`http://${host}/`).hostname

const refused: ReadonlyArray<string> = [
  // IPv4 in every form a URL accepts
  "127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "2130706433", "0.0.0.0", "0", "10.0.0.1", "172.16.5.4", "172.31.255.255",
  "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "192.0.0.8", "192.0.2.1", "198.18.0.1",
  "198.19.255.255", "198.51.100.7", "203.0.113.10", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
  "192.88.99.1",
  // IPv6
  "[::1]", "[::]", "[0:0:0:0:0:0:0:1]", "[fe80::1]", "[febf::1]", "[fec0::1]", "[feff::1]", "[fc00::1]", "[fd12:3456::1]",
  "[ff02::1]", "[2001:db8::1]", "[3fff::1]", "[100::1]",
  // IPv4-mapped, -translated, -compatible
  "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:7f00:0001]", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]",
  "[::ffff:0:127.0.0.1]", "[::127.0.0.1]", "[::7f00:1]", "[::10.0.0.1]",
  // NAT64, 6to4, Teredo carrying an internal IPv4 address; local-use NAT64
  "[64:ff9b::7f00:1]", "[64:ff9b::127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::1]", "[2002:7f00:1::]",
  "[2002:a00:1::1]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]" /* Teredo, client 127.0.0.1 */
]

const allowed: ReadonlyArray<string> = [
  "8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "11.0.0.1",
  "[2606:4700:4700::1111]", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]", "[2002:808:808::1]"
]

describe("AddressPolicy.classify", () => {
  it("refuses loopback, private, link-local, CGNAT, multicast, reserved, documentation and embedded-IPv4 forms", () => {
    for (const host of refused) {
      const verdict = classify(hostOf(host))
      assert.isFalse(verdict.allowed, `${host} (${hostOf(host)}) must be refused`)
    }
  })

  it("allows public addresses, also through NAT64 and 6to4", () => {
    for (const host of allowed) assert.isTrue(classify(hostOf(host)).allowed, `${host} (${hostOf(host)}) must be allowed`)
  })

  it("names the IPv4 address an IPv6 form carries", () => {
    const verdict = classify(hostOf("[::ffff:127.0.0.1]"))
    assert.isFalse(verdict.allowed)
    if (!verdict.allowed) assert.include(verdict.reason, "127.0.0.1")
  })

  it("accepts addresses with and without brackets and zones, refuses what is not an address", () => {
    assert.isFalse(classify("fe80::1%eth0").allowed)
    assert.isFalse(classify("::1").allowed)
    assert.isTrue(classify("2606:4700:4700::1111").allowed)
    for (const junk of ["", "example.com", "1.2.3", "256.1.1.1", "::ffff:1.2.3.999", "[::1"]) assert.isFalse(classify(junk).allowed, junk)
  })

  it("knows internal host names", () => {
    for (const name of ["localhost", "LOCALHOST.", "api.localhost", "printer.local", "db.internal", "nas.home.arpa"]) {
      assert.isTrue(isInternalName(name), name)
    }
    assert.isFalse(isInternalName("api.openai.com"))
  })
})
