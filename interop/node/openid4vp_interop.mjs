#!/usr/bin/env node
// Interop harness around the third-party OpenID4VP 1.0 library @openid4vc/openid4vp 0.4.6 (its
// wallet side, Openid4vpClient, and its relying-party side, Openid4vpVerifier), with
// @sd-jwt/sd-jwt-vc 0.19.0 for the SD-JWT presentation and its verification.
//
//   wallet --request URI --credential FILE --holder-jwk FILE [--request-object FILE] [--submit yes]
//       Their wallet: parses and resolves the request (fetching request_uri, verifying a signed
//       request object with the key of its decentralized_identifier:did:jwk client id), presents
//       the credential with the claims the DCQL query asks for and a KB-JWT for the request's
//       nonce and effective client id, and builds the authorization response. With --submit yes
//       it posts the response to response_uri (direct_post). --request-object serves the
//       request_uri fetch from a file (the web host of `verifier request --request-uri`).
//       Prints {client_prefix, client_id, response_mode, response_uri, version, response,
//       submitted?} as JSON. Exit 0, or 1 with the library's refusal on stderr.
//
//   rp --issuer-jwk FILE
//       Their relying party: listens on 127.0.0.1:0, prints one line, the request URI it made
//       (unsigned, client id redirect_uri:<response_uri>, direct_post, DCQL for family_name and
//       given_name of a dc+sd-jwt), then waits for one direct_post answer, parses and validates
//       it with the library, verifies the presentation (issuer signature, KB-JWT signature,
//       nonce, aud = the client id), answers the POST, prints {accepted, claims} or
//       {accepted: false, error} and exits 0 or 1.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { setGlobalConfig } from '@openid4vc/utils';
import { Openid4vpClient, Openid4vpVerifier } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { parseArgs, usage } from './cli_args.mjs';

// The test servers are plain http on loopback.
setGlobalConfig({ allowInsecureUrls: true });

function publicKey(jwk) {
  const members = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  if (jwk.y !== undefined) members.y = jwk.y;
  return crypto.createPublicKey({ key: members, format: 'jwk' });
}

// Verifies a compact JWS (ES256 raw r||s, or EdDSA) with a public JWK.
function verifyCompact(compact, jwk) {
  const [header, payload, signature] = compact.split('.');
  const alg = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')).alg;
  const input = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  if (alg === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256') {
    return crypto.verify('sha256', input, { key: publicKey(jwk), dsaEncoding: 'ieee-p1363' }, sig);
  }
  if (alg === 'EdDSA' && jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return crypto.verify(null, input, publicKey(jwk), sig);
  }
  return false;
}

// did:jwk resolves without a network: the DID is the base64url of the public JWK.
function didJwkKey(didUrl) {
  const did = didUrl.split('#')[0];
  if (!did.startsWith('did:jwk:')) throw new Error(`unsupported DID method in ${did}`);
  return JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url').toString('utf8'));
}

function callbacks(requestObjectFile) {
  return {
    hash: (data, alg) => crypto.createHash(alg.replace('-', '')).update(data).digest(),
    generateRandom: (n) => crypto.randomBytes(n),
    signJwt: () => { throw new Error('this harness signs no JWT with the library'); },
    verifyJwt: async (signer, { compact }) => {
      let jwk;
      if (signer.method === 'did') jwk = didJwkKey(signer.didUrl);
      else if (signer.method === 'jwk') jwk = signer.publicJwk;
      else return { verified: false };
      return verifyCompact(compact, jwk) ? { verified: true, signerJwk: jwk } : { verified: false };
    },
    fetch: async (url, init) => {
      if (requestObjectFile && init?.method !== 'POST') {
        return new Response(fs.readFileSync(requestObjectFile, 'utf8').trim(), {
          status: 200,
          headers: { 'content-type': 'application/oauth-authz-req+jwt' },
        });
      }
      return fetch(url, { ...init, redirect: 'manual' });
    },
  };
}

function holderSigner(privateJwk) {
  const key = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' });
  return (data) => crypto.sign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

// A presentation frame from a DCQL credential query's claim paths (object keys only).
function frameOf(query) {
  const frame = {};
  for (const claim of query.claims ?? []) {
    let node = frame;
    claim.path.forEach((segment, i) => {
      if (i === claim.path.length - 1) node[segment] = true;
      else node = node[segment] = typeof node[segment] === 'object' ? node[segment] : {};
    });
  }
  return frame;
}

async function wallet(opts) {
  const client = new Openid4vpClient({ callbacks: callbacks(opts['request-object']) });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: opts.request });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
  });
  const request = resolved.authorizationRequestPayload;
  const query = resolved.dcql.query.credentials[0];
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    kbSigner: holderSigner(JSON.parse(fs.readFileSync(opts['holder-jwk'], 'utf8'))),
    kbSignAlg: 'ES256',
  });
  const credential = fs.readFileSync(opts.credential, 'utf8').trim();
  const presentation = await sdjwt.present(credential, frameOf(query), {
    kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: resolved.client.effective, nonce: request.nonce } },
  });
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { [query.id]: [presentation] } },
  });
  const out = {
    client_prefix: resolved.client.prefix,
    client_id: resolved.client.effective,
    response_mode: request.response_mode,
    response_uri: request.response_uri,
    version: resolved.version,
    response: response.authorizationResponsePayload,
  };
  if (opts.submit === 'yes') {
    const { response: posted } = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: response.authorizationResponsePayload,
    });
    const text = await posted.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    out.submitted = { status: posted.status, body };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > 1 << 20) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function rp(opts) {
  const issuerJwk = JSON.parse(fs.readFileSync(opts['issuer-jwk'], 'utf8'));
  const verifier = new Openid4vpVerifier({ callbacks: callbacks() });
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const responseUri = `http://127.0.0.1:${server.address().port}/response`;
  const clientId = `redirect_uri:${responseUri}`;
  const algs = ['ES256', 'EdDSA'];
  const { authorizationRequest, authorizationRequestPayload } = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: {
      response_type: 'vp_token',
      client_id: clientId,
      response_uri: responseUri,
      response_mode: 'direct_post',
      nonce: crypto.randomBytes(16).toString('base64url'),
      state: crypto.randomBytes(16).toString('base64url'),
      dcql_query: {
        credentials: [{
          id: 'pid',
          format: 'dc+sd-jwt',
          meta: { vct_values: ['urn:cn:citizen-id:basic:1', 'urn:cn:citizen-id:high:1'] },
          claims: [{ path: ['family_name'] }, { path: ['given_name'] }],
        }],
      },
      client_metadata: { vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': algs, 'kb-jwt_alg_values': algs } } },
    },
  });
  process.stdout.write(`${authorizationRequest}\n`);
  const outcome = await new Promise((resolve) => {
    server.on('request', async (req, res) => {
      const answer = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/response') return answer(404, { error: 'not_found' });
      try {
        const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
        if (typeof form.vp_token === 'string' && form.vp_token.startsWith('{')) form.vp_token = JSON.parse(form.vp_token);
        const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
          authorizationResponse: form,
          authorizationRequestPayload,
        });
        if (parsed.authorizationResponsePayload.state !== authorizationRequestPayload.state) throw new Error('state mismatch');
        const presentation = parsed.dcql.presentations.pid[0];
        const sdjwt = new SDJwtVcInstance({
          hasher: digest,
          hashAlg: 'sha-256',
          verifier: (data, sig) => verifyCompact(`${data}.${sig}`, issuerJwk),
          kbVerifier: (data, sig, payload) => verifyCompact(`${data}.${sig}`, payload.cnf.jwk),
        });
        const result = await sdjwt.verify(presentation, {
          keyBindingNonce: parsed.expectedNonce,
          currentDate: Math.floor(Date.now() / 1000),
        });
        if (!result.kb) throw new Error('no key binding');
        if (result.kb.payload.aud !== clientId) throw new Error(`KB-JWT aud ${result.kb.payload.aud} is not ${clientId}`);
        answer(200, {});
        resolve({ accepted: true, claims: result.payload });
      } catch (e) {
        answer(400, { error: 'invalid_request', error_description: String(e?.message ?? e) });
        resolve({ accepted: false, error: String(e?.message ?? e) });
      }
    });
  });
  server.close();
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return outcome.accepted ? 0 : 1;
}

const USAGE = 'usage: openid4vp_interop.mjs wallet --request URI --credential FILE --holder-jwk FILE [--request-object FILE] [--submit yes]\n'
  + '       openid4vp_interop.mjs rp --issuer-jwk FILE\n';

const { command, opts } = parseArgs(process.argv.slice(2), USAGE);
let code;
try {
  if (command === 'wallet' && opts.request && opts.credential && opts['holder-jwk']) code = await wallet(opts);
  else if (command === 'rp' && opts['issuer-jwk']) code = await rp(opts);
  else usage(USAGE);
} catch (e) {
  const detail = e?.errorResponse ? JSON.stringify(e.errorResponse) : '';
  process.stderr.write(`refused: ${e?.message ?? e} ${detail}\n`);
  code = 1;
}
process.exit(code);
