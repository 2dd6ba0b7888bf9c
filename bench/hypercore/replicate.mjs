// Peer comparison for nomsync-bench: Hypercore 11 replicating N entries of
// SIZE bytes from one core to another over loopback TCP.
//
//   node replicate.mjs [N=100000] [SIZE=400]
//
// The writer appends N random entries (batches of 1000, not timed), then a
// reader core with the writer's key connects over net.connect to a
// net.createServer on 127.0.0.1 and the two replicate(...) streams are piped
// together. The clock runs from connect until the reader holds all N
// entries; Hypercore verifies every block against the signed Merkle tree as
// it arrives. Prints "name value" lines on stdout (as nomsync-bench does).
import Hypercore from 'hypercore'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const N = parseInt(process.argv[2] || '100000', 10)
const SIZE = parseInt(process.argv[3] || '400', 10)
const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'nsb-hypercore-'))

async function main () {
  const writer = new Hypercore(path.join(dir, 'writer'))
  await writer.ready()
  const tw = performance.now()
  for (let i = 0; i < N; i += 1000) {
    const batch = []
    for (let k = i; k < Math.min(N, i + 1000); k++) batch.push(crypto.randomBytes(SIZE))
    await writer.append(batch)
  }
  const appendSeconds = (performance.now() - tw) / 1000

  const reader = new Hypercore(path.join(dir, 'reader'), writer.key)
  await reader.ready()

  const sockets = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    socket.pipe(writer.replicate(false)).pipe(socket)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port

  const t0 = performance.now()
  const socket = net.connect(port, '127.0.0.1')
  sockets.push(socket)
  socket.pipe(reader.replicate(true)).pipe(socket)
  const range = reader.download({ start: 0, end: N })
  await range.done()
  const seconds = (performance.now() - t0) / 1000

  // Spot-check content: the last entry must equal the writer's.
  const a = await reader.get(N - 1, { wait: false })
  const b = await writer.get(N - 1)
  const ok = reader.contiguousLength === N && a !== null && Buffer.compare(a, b) === 0

  // "name value" lines, like nomsync-bench.
  const version = JSON.parse(fs.readFileSync(new URL('./node_modules/hypercore/package.json', import.meta.url))).version
  const figures = {
    'hypercore.entries': N,
    'hypercore.entry_bytes': SIZE,
    'hypercore.seconds': seconds,
    'hypercore.rate': N / seconds,
    'hypercore.writer_append_rate': N / appendSeconds,
    'hypercore.rss_mib': process.memoryUsage().rss / 1048576,
    'hypercore.complete': ok ? 1 : 0
  }
  for (const [k, v] of Object.entries(figures)) console.log(`${k} ${v.toFixed(4)}`)
  console.error(`  .. hypercore ${version}: ${N} entries of ${SIZE} bytes replicated over loopback TCP in ${seconds.toFixed(2)} s`)

  for (const s of sockets) s.destroy()
  server.close()
  await reader.close()
  await writer.close()
  if (!ok) process.exitCode = 1
}

try {
  await main()
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
