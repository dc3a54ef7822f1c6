"""Drives dkimpy's ARC (Debian python3-dkim) for the arc package's tests.

  dkimpy_arc.py verify HOST:PORT [COUNT] < messages
      prints "cv=STATE; REASON" for each message (they are separated by NUL
      octets); keys come from the DNS server at HOST:PORT (answers cached,
      as a busy server's resolver would). With COUNT, the verification of
      the last message runs COUNT times and "ns/op N cpu-ns/op N" follows
      (wall and CPU time per verification).
  dkimpy_arc.py sign SELECTOR DOMAIN KEYFILE SRVID < message
      prints the ARC set dkimpy adds (rsa-sha256, its only sealing
      algorithm) followed by the message.
"""
import sys
import time

import dkim
import dns.message
import dns.query
import dns.rdatatype


def dnsfunc_for(addr):
    host, port = addr.rsplit(":", 1)
    cache = {}

    def get_txt(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        if name in cache:
            return cache[name]
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        r = dns.query.udp(q, host, port=int(port), timeout=timeout)
        txt = None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                txt = b"".join(list(rrset.items)[0].strings)
                break
        cache[name] = txt
        return txt

    return get_txt


def main():
    sys.stdin = sys.stdin.detach()
    sys.stdout = sys.stdout.detach()
    msg = sys.stdin.read()
    if sys.argv[1] == "verify":
        get_txt = dnsfunc_for(sys.argv[2])
        for msg in msg.split(b"\0"):
            cv, _, reason = dkim.arc_verify(msg, dnsfunc=get_txt)
            state = cv.decode() if cv is not None else "fail"
            sys.stdout.write(("cv=%s; %s\n" % (state, reason)).encode())
        if len(sys.argv) > 3:
            n = int(sys.argv[3])
            start, cpu = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(n):
                dkim.arc_verify(msg, dnsfunc=get_txt)
            wall, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
            sys.stdout.write(("ns/op %d cpu-ns/op %d\n" % (wall // n, cpu // n)).encode())
    elif sys.argv[1] == "sign":
        sel, dom, keyfile, srv = (a.encode() for a in sys.argv[2:6])
        with open(keyfile, "rb") as f:
            key = f.read()
        lines = dkim.arc_sign(msg, sel, dom, key, srv, linesep=b"\r\n")
        if not lines:
            sys.stderr.write("dkimpy added no set\n")
            sys.exit(1)
        for line in lines:
            sys.stdout.write(line)
        sys.stdout.write(msg)
    else:
        sys.exit("usage: dkimpy_arc.py verify|sign ...")


main()
