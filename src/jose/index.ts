export * from './algorithms.js'
export * from './claims.js'
export {type Decoded, decodeToken} from './decode.js'
export {type Header, MAX_TOKEN_BYTES, protectedHeader, reject} from './header.js'
export {type Decrypted, decryptJwe, encryptJwe, sealJwe, type SealTo} from './jwe.js'
export {type KeyEntry, Keyring} from './keyring.js'
export * from './keys.js'
export {sealNested, type TokenVerified, verifyInner, verifyToken} from './nested.js'
export {s256Challenge, tokenHash} from './oidc.js'
export {type SigningKey, signJws, signJwt, type SignWith} from './sign.js'
export {type Verified, verifyJws, type VerifyOptions} from './verify.js'
/**
 * The face of jwtis's token cryptography: what the issuer, the CLI and the server call. Each
 * operation takes the node:crypto fast path (compact.ts) where it applies (vault keys, the
 * algorithms the issuer uses) and falls back to jose inside, as `ageDecrypt` does for age:
 * callers never choose. Nothing outside src/jose imports `jose` or does JOSE on node:crypto.
 */
export type {JWTPayload} from 'jose'
