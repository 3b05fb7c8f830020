// The terminal texts of host-node.mjs that the Rust `wallet` CLI prints too: the consent
// list (on stderr, before the y/N question), short claim values, dates.

/** One short line for a claim value (long strings such as a portrait are cut). */
export function shortValue(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const chars = [...text];
  if (chars.length > 60) return `${chars.slice(0, 40).join("")}… (${Buffer.byteLength(text)} bytes)`;
  return text;
}

/** A Unix time as `YYYY-MM-DD HH:MM UTC`. */
export function utcDate(t) {
  const d = new Date(t * 1000);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Who asks, which claims of which credential would go to them, and where the answer goes. */
export function printConsent(c, line) {
  const who = c.client_identity ?? { kind: "unverified" };
  if (who.kind === "did") {
    line(`${c.client_id} asks for (signed request, verified: key ${who.key_thumbprint} of ${who.did.slice(0, 40)}):`);
  } else if (who.kind === "redirect_uri") {
    line(`${who.uri} asks for (unsigned; the answer goes to that address):`);
  } else {
    line(`${c.asker ?? c.client_id} asks for (unsigned request: the name is not verified):`);
  }
  for (const item of c.items) {
    const purpose = item.purpose ? ` — purpose: ${item.purpose}` : "";
    line(`  your ${item.credential_type} credential (${item.format}, level ${item.level ?? "-"})${purpose}`);
    for (const claim of item.claims) {
      const label = claim.label && claim.label_zh ? `${claim.label} / ${claim.label_zh}` : claim.path;
      line(`    - ${label.padEnd(30)} ${shortValue(claim.value)}`);
    }
    if (!item.holder_binding) {
      line("    warning: the verifier asked for an answer without holder binding (no KB-JWT): whoever receives it could show it elsewhere");
    }
    if (item.issuer_trust_unchecked) {
      line("    note: the verifier accepts only issuers on trust lists this wallet cannot check offline; it may refuse this credential");
    }
    if (item.claims.length === 0) line("    (no personal claim; only the credential type and level)");
    if (item.unused_copies === 0) {
      line(
        `    note: all ${item.copies} copies of batch ${item.batch_id} were shown before; ` +
          (item.refreshable
            ? "--refresh gets a fresh batch from the issuer first (--allow-reuse would reuse one)"
            : "it cannot be refreshed (no refresh token); --allow-reuse would reuse one"),
      );
    }
  }
  line(c.response_uri ? `the answer is sent to ${c.response_uri}` : "the answer is shown as a QR code (offline)");
}
