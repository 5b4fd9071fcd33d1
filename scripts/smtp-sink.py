"""A loopback SMTP server for otklik's tests: keeps each message it accepts as a file.

Usage: smtp-sink.py PORT DIRECTORY. Messages land in DIRECTORY as NNNNNN.eml, written under another name
and renamed, so a reader never sees half a message. Standard output says what happens, a line each, for
whoever waits on it: "ready" once it listens, "message NNNNNN" once a message is in place. A recipient whose local part starts with "bounce" is
refused with 550, as a mail server refuses a mailbox that does not exist, and noted in refused.log.
"""

import asyncio
import itertools
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("bounce"):
            with open(os.path.join(self.directory, "refused.log"), "a") as log:
                log.write(address + "\n")
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        number = next(self.numbers)
        final = os.path.join(self.directory, f"{number:06}.eml")
        partial = final + ".part"
        with open(partial, "wb") as out:
            out.write(f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode())
            out.write(envelope.original_content)
        os.rename(partial, final)
        print(f"message {number:06}", flush=True)
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
