// The floor for `npm run bench`: what Node itself can do with the Go reference's per-request work
// (bench/reference/main.go, the same routes, both sealings), with nothing of jwtis in it: bare
// node:http, one process per core (node:cluster), and the token work of bench/floor/tokens.js.
// No framework, no schema, no state, no logging. jwtis cannot run faster than this on the same
// machine; the bench shows it beside the reference so that the gap reads as Node's or as jwtis's.
//
// Run: node bench/floor/server.js PORT CLIENT_TOKEN [client|issuer]
import cluster from 'node:cluster'
import {timingSafeEqual} from 'node:crypto'
import {createServer} from 'node:http'
import {availableParallelism} from 'node:os'

import {newKeys, tokenWork} from './tokens.js'

const [port, token, seal = 'client'] = process.argv.slice(2)

if (cluster.isPrimary) {
  const keys = JSON.stringify(newKeys())
  for (let i = 0; i < availableParallelism(); i++) cluster.fork({FLOOR_KEYS: keys})
} else {
  serve(tokenWork(JSON.parse(process.env.FLOOR_KEYS), seal))
}

function reply(res, status, body) {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(JSON.stringify(body))
}

function serve(work) {
  const expected = Buffer.from(`Bearer ${token}`)
  createServer((req, res) => {
    const presented = Buffer.from(req.headers.authorization ?? '')
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      reply(res, 401, {error: {code: 'UNAUTHORIZED'}})
      return
    }

    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      text += chunk
    })
    req.on('end', () => {
      try {
        const body = JSON.parse(text)
        if (req.url === '/issue_token') {
          const {sub, ...custom} = body.claims ?? {}
          reply(res, 201, work.issue(sub, custom))
        } else if (req.url === '/renew_token') reply(res, 201, work.renew(body.refresh_token, body.refresh_strategy))
        else reply(res, 404, {error: {code: 'NOT_FOUND'}})
      } catch {
        reply(res, 403, {error: {code: 'REFUSED'}})
      }
    })
  }).listen(Number(port), '127.0.0.1')
}
