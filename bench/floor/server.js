// The floor for `npm run bench`: what Node itself can do with the Go reference's per-request work
// (bench/reference/main.go), with nothing of jwtis in it: bare node:http, one process per core
// (node:cluster), and node:crypto called directly as PERF-NOTES.md measures it (ES256 by
// crypto.sign, the ephemeral key and the derive by the ECDH API, AES-KW and AES-GCM by ciphers).
// No framework, no schema, no state, no logging. jwtis cannot run faster than this on the same
// machine; the bench shows it beside the reference so that the gap reads as Node's or as jwtis's.
//
// Run: node bench/floor/server.js PORT CLIENT_TOKEN
import cluster from 'node:cluster'
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import {createServer} from 'node:http'
import {availableParallelism} from 'node:os'

const [port, token] = process.argv.slice(2)

if (cluster.isPrimary) {
  // One key set for all workers, as the reference has one process: tokens made by one verify in another.
  const sig = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const enc = createECDH('prime256v1')
  enc.generateKeys()
  const keys = {
    encPrivate: enc.getPrivateKey('base64'),
    encPublic: enc.getPublicKey('base64'),
    sigPrivate: sig.privateKey.export({format: 'pem', type: 'pkcs8'}),
    sigPublic: sig.publicKey.export({format: 'pem', type: 'spki'}),
  }
  for (let i = 0; i < availableParallelism(); i++) cluster.fork({FLOOR_KEYS: JSON.stringify(keys)})
} else {
  serve(JSON.parse(process.env.FLOOR_KEYS))
}

function serve(keys) {
  const b64 = (data) => Buffer.from(data).toString('base64url')
  const sigPrivate = createPrivateKey(keys.sigPrivate)
  const sigPublic = createPublicKey(keys.sigPublic)
  const encPublic = Buffer.from(keys.encPublic, 'base64')
  const encStatic = createECDH('prime256v1')
  encStatic.setPrivateKey(Buffer.from(keys.encPrivate, 'base64'))
  const expected = Buffer.from(`Bearer ${token}`)
  const accessHeader = b64(JSON.stringify({alg: 'ES256', kid: 'sig', typ: 'at+jwt'}))
  const refreshHeader = b64(JSON.stringify({alg: 'ES256', kid: 'sig', typ: 'rt+jwt'}))
  const otherInfo = Buffer.concat([
    Buffer.from([0, 0, 0, 14]),
    Buffer.from('ECDH-ES+A256KW'),
    Buffer.alloc(8),
    Buffer.from([0, 0, 1, 0]),
  ])
  const kek = (z) =>
    createHash('sha256')
      .update(Buffer.from([0, 0, 0, 1]))
      .update(z)
      .update(otherInfo)
      .digest()
  const kwIv = Buffer.from('A6A6A6A6A6A6A6A6', 'hex')

  const jws = (header, claims) => {
    const input = `${header}.${b64(JSON.stringify(claims))}`
    return `${input}.${b64(sign('sha256', Buffer.from(input), {dsaEncoding: 'ieee-p1363', key: sigPrivate}))}`
  }

  const access = (sub, custom) => {
    const now = Math.floor(Date.now() / 1000)
    const id = randomBytes(16).toString('base64url')
    const exp = now + 900
    const claims = {aud: 'app', exp, iat: now, iss: 'JWTIS', jti: id, nbf: now, sub, ...custom}
    return {access_token: jws(accessHeader, claims), expiry: exp, id}
  }

  const seal = (plaintext) => {
    const ephemeral = createECDH('prime256v1')
    const point = ephemeral.generateKeys()
    const epk = {crv: 'P-256', kty: 'EC', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33))}
    const cek = randomBytes(32)
    const wrap = createCipheriv('id-aes256-wrap', kek(ephemeral.computeSecret(encPublic)), kwIv)
    const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()])
    const header = b64(JSON.stringify({alg: 'ECDH-ES+A256KW', cty: 'JWT', enc: 'A256GCM', epk, kid: 'enc'}))
    const iv = randomBytes(12)
    const gcm = createCipheriv('aes-256-gcm', cek, iv).setAAD(Buffer.from(header))
    const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()])
    return `${header}.${b64(encryptedKey)}.${b64(iv)}.${b64(ciphertext)}.${b64(gcm.getAuthTag())}`
  }

  const open = (jwe) => {
    const [h, k, iv, ciphertext, tag] = jwe.split('.')
    const {epk} = JSON.parse(Buffer.from(h, 'base64url'))
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(epk.x, 'base64url'), Buffer.from(epk.y, 'base64url')])
    const unwrap = createDecipheriv('id-aes256-wrap', kek(encStatic.computeSecret(point)), kwIv)
    const cek = Buffer.concat([unwrap.update(Buffer.from(k, 'base64url')), unwrap.final()])
    const gcm = createDecipheriv('aes-256-gcm', cek, Buffer.from(iv, 'base64url'))
      .setAAD(Buffer.from(h))
      .setAuthTag(Buffer.from(tag, 'base64url'))
    const inner = Buffer.concat([gcm.update(Buffer.from(ciphertext, 'base64url')), gcm.final()]).toString()
    const [ih, ip, is] = inner.split('.')
    const ok = verify(
      'sha256',
      Buffer.from(`${ih}.${ip}`),
      {dsaEncoding: 'ieee-p1363', key: sigPublic},
      Buffer.from(is, 'base64url'),
    )
    const claims = JSON.parse(Buffer.from(ip, 'base64url'))
    if (!ok || claims.iss !== 'JWTIS' || claims.exp <= Date.now() / 1000) throw new Error('refused')
    return claims
  }

  const reply = (res, status, body) => {
    res.writeHead(status, {'content-type': 'application/json'})
    res.end(JSON.stringify(body))
  }

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
          const now = Math.floor(Date.now() / 1000)
          const rt = {cl: custom, exp: now + 72 * 3600, iat: now, iss: 'JWTIS', jti: b64(randomBytes(16)), sub}
          reply(res, 201, {...access(sub, custom), refresh_token: seal(jws(refreshHeader, rt))})
        } else if (req.url === '/renew_token') {
          const rt = open(body.refresh_token)
          reply(res, 201, {...access(rt.sub, rt.cl), refresh_token: body.refresh_token})
        } else reply(res, 404, {error: {code: 'NOT_FOUND'}})
      } catch {
        reply(res, 403, {error: {code: 'REFUSED'}})
      }
    })
  }).listen(Number(port), '127.0.0.1')
}
