/**
 * A minimal SMTP relay on 127.0.0.1 for tests of outgoing mail (the SMTP mailer, magic links):
 * it accepts every message and keeps each one's DATA, decoded from quoted-printable, so a test
 * reads the mail a real relay would have received.
 */
import * as NodeNet from "node:net"

export interface SmtpSink {
  readonly port: number
  /** Every message's DATA, decoded from quoted-printable. */
  readonly received: Array<string>
  readonly close: () => void
}

const decodeQuotedPrintable = (text: string): string =>
  text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))

/** A minimal SMTP server on 127.0.0.1 that accepts every message. */
export const smtpSink = (): Promise<SmtpSink> => {
  const received: Array<string> = []
  const server = NodeNet.createServer((socket) => {
    socket.write("220 sink ESMTP\r\n")
    let buffer = ""
    let inData = false
    let data = ""
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8")
      let index: number
      while ((index = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, index)
        buffer = buffer.slice(index + 2)
        if (inData) {
          if (line === ".") {
            inData = false
            received.push(decodeQuotedPrintable(data))
            data = ""
            socket.write("250 queued\r\n")
          } else data += line + "\r\n"
        } else if (/^(EHLO|HELO)/i.test(line)) {
          socket.write("250 sink\r\n")
        } else if (/^DATA/i.test(line)) {
          inData = true
          socket.write("354 go on\r\n")
        } else if (/^QUIT/i.test(line)) {
          socket.write("221 bye\r\n")
          socket.end()
        } else socket.write("250 ok\r\n")
      }
    })
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as NodeNet.AddressInfo
      resolve({ port: address.port, received, close: () => server.close() })
    })
  )
}
