#!/usr/bin/env node
// Interop harness around the OpenWallet Foundation TypeScript SD-JWT implementation
// (@sd-jwt/sd-jwt-vc, @sd-jwt/core, @sd-jwt/crypto-nodejs 0.19.0).
//
//   issue  --alg ES256|EdDSA --out DIR --nonce N --aud A
//       Generates an issuer and a holder key, issues an SD-JWT VC (typ dc+sd-jwt, cnf = holder
//       key; disclosable top-level, nested and array-element claims, decoys), presents a subset
//       with a KB-JWT for N/A, and writes DIR/presentation.txt, DIR/issuer.jwk.json (public) and
//       DIR/claims.json (the claims this library's own verifier extracts from the presentation).
//
//   verify --issuer-jwk FILE --nonce N --aud A [--presentation FILE|-]
//       Verifies a presentation with SDJwtVcInstance.verify (issuer signature, iat/nbf/exp,
//       KB-JWT typ, signature by cnf.jwk, nonce, sd_hash) and prints the processed claims as
//       JSON. The library does not compare the KB-JWT aud (it has no option for it), so this
//       harness does. Exit 0 accepted, 1 rejected (reason on stderr), 2 usage.
//
// The library leaves signing and verification to callbacks: ES256 uses @sd-jwt/crypto-nodejs;
// EdDSA (which crypto-nodejs 0.19 does not offer) uses node:crypto's Ed25519 directly.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { parseArgs, usage as usageAndExit } from './cli_args.mjs';

const ISSUER = 'https://issuer.node.example';

function algOfJwk(jwk) {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw new Error(`unsupported key ${jwk.kty}/${jwk.crv}`);
}

async function generateKeyPair(alg) {
  if (alg === 'ES256') {
    const { publicKey, privateKey } = await ES256.generateKeyPair();
    return { publicJwk: bare(publicKey), privateJwk: privateKey };
  }
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return {
    publicJwk: bare(publicKey.export({ format: 'jwk' })),
    privateJwk: privateKey.export({ format: 'jwk' }),
  };
}

// Only the key members (WebCrypto adds key_ops and ext).
function bare(jwk) {
  const out = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  if (jwk.y !== undefined) out.y = jwk.y;
  return out;
}

async function signerFor(alg, privateJwk) {
  if (alg === 'ES256') return ES256.getSigner(privateJwk);
  const key = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' });
  return (data) => crypto.sign(null, Buffer.from(data), key).toString('base64url');
}

// A verifier that also requires the JWS header's alg to be the key's algorithm.
async function verifierFor(publicJwk) {
  const alg = algOfJwk(publicJwk);
  let check;
  if (alg === 'ES256') {
    check = await ES256.getVerifier(publicJwk);
  } else {
    const key = crypto.createPublicKey({ key: bare(publicJwk), format: 'jwk' });
    check = (data, sig) => crypto.verify(null, Buffer.from(data), key, Buffer.from(sig, 'base64url'));
  }
  return async (data, sig) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'));
    if (header.alg !== alg) return false;
    return check(data, sig);
  };
}

function instance({ signer, alg, verifier, kbSigner, kbAlg }) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signer,
    signAlg: alg,
    verifier,
    kbSigner,
    kbSignAlg: kbAlg,
    // The KB-JWT is verified with the credential's cnf.jwk.
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload?.cnf?.jwk;
      if (!jwk) throw new Error('credential has no cnf.jwk');
      return (await verifierFor(jwk))(data, sig);
    },
  });
}

async function verifyPresentation(sdjwt, presentation, nonce, aud) {
  const result = await sdjwt.verify(presentation, {
    keyBindingNonce: nonce,
    currentDate: Math.floor(Date.now() / 1000),
  });
  if (!result.kb) throw new Error('no key binding');
  if (result.kb.payload.aud !== aud) {
    throw new Error(`KB-JWT aud ${JSON.stringify(result.kb.payload.aud)} is not ${JSON.stringify(aud)}`);
  }
  return result.payload;
}

async function issue(opts) {
  const alg = opts.alg;
  const issuerKeys = await generateKeyPair(alg);
  const holderKeys = await generateKeyPair(alg);
  const now = Math.floor(Date.now() / 1000);
  const sdjwt = instance({
    signer: await signerFor(alg, issuerKeys.privateJwk),
    alg,
    verifier: await verifierFor(issuerKeys.publicJwk),
    kbSigner: await signerFor(alg, holderKeys.privateJwk),
    kbAlg: alg,
  });
  const claims = {
    iss: ISSUER,
    vct: 'https://credentials.example/interop',
    iat: now,
    exp: now + 3600,
    cnf: { jwk: holderKeys.publicJwk },
    given_name: 'Erika',
    family_name: 'Mustermann',
    birthdate: '1963-08-12',
    address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
    nationalities: ['DE', 'FR', 'US'],
    age_equal_or_over: { 18: true, 21: true },
  };
  const disclosureFrame = {
    _sd: ['given_name', 'family_name', 'birthdate', 'address', 'age_equal_or_over'],
    _sd_decoy: 2,
    address: { _sd: ['street_address', 'locality'] },
    nationalities: { _sd: [0, 1] },
    age_equal_or_over: { _sd: ['18', '21'] },
  };
  const credential = await sdjwt.issue(claims, disclosureFrame, {
    header: { kid: crypto.createHash('sha256').update(thumbprintInput(issuerKeys.publicJwk)).digest('base64url') },
  });
  const presentationFrame = {
    given_name: true,
    address: { locality: true },
    nationalities: { 0: true },
    age_equal_or_over: { 18: true },
  };
  const presentation = await sdjwt.present(credential, presentationFrame, {
    kb: { payload: { iat: now, aud: opts.aud, nonce: opts.nonce } },
  });
  const verified = await verifyPresentation(sdjwt, presentation, opts.nonce, opts.aud);
  fs.mkdirSync(opts.out, { recursive: true });
  fs.writeFileSync(path.join(opts.out, 'presentation.txt'), presentation);
  fs.writeFileSync(path.join(opts.out, 'issuer.jwk.json'), JSON.stringify(issuerKeys.publicJwk));
  fs.writeFileSync(path.join(opts.out, 'claims.json'), JSON.stringify(verified));
}

// RFC 7638: the required members in lexicographic order, no whitespace.
function thumbprintInput(jwk) {
  return jwk.kty === 'EC'
    ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    : JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
}

async function verify(opts) {
  const issuerJwk = JSON.parse(fs.readFileSync(opts['issuer-jwk'], 'utf8'));
  const text = !opts.presentation || opts.presentation === '-'
    ? fs.readFileSync(0, 'utf8')
    : fs.readFileSync(opts.presentation, 'utf8');
  const sdjwt = instance({ verifier: await verifierFor(issuerJwk) });
  try {
    const claims = await verifyPresentation(sdjwt, text.trim(), opts.nonce, opts.aud);
    process.stdout.write(`${JSON.stringify(claims)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`rejected: ${e?.message ?? e}\n`);
    return 1;
  }
}

const USAGE = 'usage: sdjwt_interop.mjs issue --alg ES256|EdDSA --out DIR --nonce N --aud A\n'
  + '       sdjwt_interop.mjs verify --issuer-jwk FILE --nonce N --aud A [--presentation FILE|-]\n';
const usage = () => usageAndExit(USAGE);

const { command, opts } = parseArgs(process.argv.slice(2), USAGE);
if (command === 'issue') {
  if (!['ES256', 'EdDSA'].includes(opts.alg) || !opts.out || !opts.nonce || !opts.aud) usage();
  await issue(opts);
} else if (command === 'verify') {
  if (!opts['issuer-jwk'] || !opts.nonce || !opts.aud) usage();
  process.exitCode = await verify(opts);
} else {
  usage();
}
