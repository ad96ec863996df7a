// The per-request token work of the Go reference (bench/reference/main.go) on node:crypto called
// directly, as PERF-NOTES.md measures it: ES256 by crypto.sign, ECDH-ES by the ECDH API, AES-KW
// and AES-GCM by ciphers. Used by the floor server (bench/floor/server.js) and by the crypto
// ceiling of `npm run bench` (bench/spin.js), so both do exactly the same work.
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
  verify,
} from 'node:crypto'

const b64 = (data) => Buffer.from(data).toString('base64url')
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex')

/** A key set to share between processes (as the reference has one process, tokens made by one open in another). */
export function newKeys() {
  const sig = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const enc = createECDH('prime256v1')
  enc.generateKeys()
  return {
    encPrivate: enc.getPrivateKey('base64'),
    encPublic: enc.getPublicKey('base64'),
    sealKey: randomBytes(32).toString('base64'),
    sigPrivate: sig.privateKey.export({format: 'pem', type: 'pkcs8'}),
    sigPublic: sig.publicKey.export({format: 'pem', type: 'spki'}),
  }
}

/** ECDH-ES+A256KW to the client's key (the seed's sealing): a fresh ephemeral key and a derive per token. */
function clientSealing(keys) {
  const encPublic = Buffer.from(keys.encPublic, 'base64')
  const encStatic = createECDH('prime256v1')
  encStatic.setPrivateKey(Buffer.from(keys.encPrivate, 'base64'))
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
  return {
    kekToOpen(header) {
      const {epk} = JSON.parse(Buffer.from(header, 'base64url'))
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(epk.x, 'base64url'), Buffer.from(epk.y, 'base64url')])
      return kek(encStatic.computeSecret(point))
    },
    kekToSeal() {
      const ephemeral = createECDH('prime256v1')
      const point = ephemeral.generateKeys()
      const epk = {crv: 'P-256', kty: 'EC', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33))}
      const header = b64(JSON.stringify({alg: 'ECDH-ES+A256KW', cty: 'JWT', enc: 'A256GCM', epk, kid: 'enc'}))
      return {header, kek: kek(ephemeral.computeSecret(encPublic))}
    },
  }
}

/** A256KW under the issuer's own AES key (jwtis's refresh_seal: issuer): no public-key work at all. */
function issuerSealing(keys) {
  const kek = Buffer.from(keys.sealKey, 'base64')
  const header = b64(JSON.stringify({alg: 'A256KW', cty: 'JWT', enc: 'A256GCM', kid: 'rs'}))
  return {kekToOpen: () => kek, kekToSeal: () => ({header, kek})}
}

/** issue(sub, custom) and renew(refreshToken, strategy) as the reference answers them; renew throws on a bad token. */
export function tokenWork(keys, seal) {
  const sealing = seal === 'issuer' ? issuerSealing(keys) : clientSealing(keys)
  const sigPrivate = createPrivateKey(keys.sigPrivate)
  const sigPublic = createPublicKey(keys.sigPublic)
  const accessHeader = b64(JSON.stringify({alg: 'ES256', kid: 'sig', typ: 'at+jwt'}))
  const refreshHeader = b64(JSON.stringify({alg: 'ES256', kid: 'sig', typ: 'rt+jwt'}))

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

  const refresh = (sub, custom) => {
    const now = Math.floor(Date.now() / 1000)
    const inner = jws(refreshHeader, {
      cl: custom,
      exp: now + 72 * 3600,
      iat: now,
      iss: 'JWTIS',
      jti: b64(randomBytes(16)),
      sub,
    })
    const {header, kek} = sealing.kekToSeal()
    const cek = randomBytes(32)
    const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV)
    const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()])
    const iv = randomBytes(12)
    const gcm = createCipheriv('aes-256-gcm', cek, iv).setAAD(Buffer.from(header))
    const ciphertext = Buffer.concat([gcm.update(inner), gcm.final()])
    return `${header}.${b64(encryptedKey)}.${b64(iv)}.${b64(ciphertext)}.${b64(gcm.getAuthTag())}`
  }

  const open = (jwe) => {
    const [h, k, iv, ciphertext, tag] = jwe.split('.')
    const unwrap = createDecipheriv('id-aes256-wrap', sealing.kekToOpen(h), KW_IV)
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

  return {
    issue: (sub, custom) => ({...access(sub, custom), refresh_token: refresh(sub, custom)}),
    renew(refreshToken, strategy) {
      const rt = open(refreshToken)
      const next = strategy === 'refreshBoth' ? refresh(rt.sub, rt.cl) : refreshToken
      return {...access(rt.sub, rt.cl), refresh_token: next}
    },
  }
}
