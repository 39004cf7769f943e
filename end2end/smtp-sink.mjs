// A real SMTP server on loopback for the browser tests: accepts every
// message and writes it, parsed, as JSON into $MAIL_DIR, where the tests
// read the sign-in links from.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const port = Number(process.env.SMTP_PORT ?? 2526);
const dir = process.env.MAIL_DIR ?? "test-results/mail";
mkdirSync(dir, { recursive: true });
let counter = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        counter += 1;
        const record = {
          receivedAt: Date.now(),
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          subject: mail.subject ?? "",
          text: mail.text ?? "",
          html: typeof mail.html === "string" ? mail.html : "",
        };
        // Written under another name, then renamed: a test polling the
        // folder must never read a half-written .json (it once read an
        // empty one and failed on "Unexpected end of JSON input").
        const name = join(dir, `${Date.now()}-${String(counter).padStart(5, "0")}.json`);
        writeFileSync(`${name}.part`, JSON.stringify(record));
        renameSync(`${name}.part`, name);
        callback();
      })
      .catch(callback);
  },
});
server.listen(port, "127.0.0.1", () => console.log(`smtp sink on 127.0.0.1:${port}, writing to ${dir}`));
