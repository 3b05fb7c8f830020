//! The preset deflate dictionary of `VP2:` answers, id 1: the structure of the stack's answers
//! (JOSE headers, SD-JWT VC and VCDM claim names, `vct`, status and schema URL patterns, the
//! citizen-ID claims and common address words), with raw parts as their markers (`\x01` and a
//! length: `\x01 ` is 32 bytes, `\x01\x10` 16, `\x01@` 64) and nested texts between `\x02`
//! and `\x03`. It holds no personal data and no key. The vc+sd-jwt form and the high claims come
//! first, the dc+sd-jwt form and the hotel's claims last: deflate codes near matches cheapest.
//!
//! Never edit it in place: answers packed with it must keep decoding. A new dictionary gets a
//! new file and a new id.

/// Dictionary 1.
pub(super) const DICTIONARY_1: &str = concat!(
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],\"type\":[\"VerifiableCredential\",\"CitizenIdCredential\",\"urn:cn:citizen-id:high:1\"],\"issuer\":\"https://",
    "\",\"validFrom\":\"2026-01-01T00:00:00Z\",\"validUntil\":\"2031-01-01T00:00:00Z\",\"credentialSchema\":{\"id\":\"https://",
    "/schemas/vcdm-citizen-id.schema.json\",\"type\":\"JsonSchema\"},\"credentialStatus\":[{\"type\":\"BitstringStatusListEntry\",\"statusPurpose\":\"revocation\",\"statusListIndex\":\"\",\"statusListCredential\":\"https:///revocation\"},{\"type\":\"BitstringStatusListEntry\",\"statusPurpose\":\"suspension\",\"statusListIndex\":\"\",\"statusListCredential\":\"https:///suspension\"}],\"evidence\":[{\"type\":\"CitizenIdProofing\",\"proofingMethod\":\"in_person_card_read\"},{\"proofingMethod\":\"remote_face_match\"}],\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"\x01 \"}},\"credentialSubject\":{\"_sd\":[\"\x01 \",\"\x01 \",\"\x01 \"]},\"_sd_alg\":\"sha-256\"}\x03.\x01@~",
    "\x02{\"typ\":\"vc+sd-jwt\",\"kid\":\"\x01 \",\"alg\":\"EdDSA\"}\x03.\x02{\"@context\":",
    "\x02[\"\x01\x10\",\"street_address\",\"省市区县镇乡街道路号楼单元室村公安局分局\"]\x03~",
    "\x02[\"\x01\x10\",\"ethnicity\",\"\x02[\"\x01\x10\",\"portrait\",\"data:image/jpeg;base64,\"]\x03~",
    "\x02[\"\x01\x10\",\"id_card\",{\"_sd\":[\"\x01 \",\"\x01 \"]}]\x03~\x02[\"\x01\x10\",\"issuing_authority\",\"\x02[\"\x01\x10\",\"valid_until\",\"long-term\"]\x03~",
    "\x02[\"\x01\x10\",\"age_equal_or_over\",{\"_sd\":[\"\x01 \",\"\x01 \",\"\x01 \"]}]\x03~\x02[\"\x01\x10\",\"16\",true]\x03~\x02[\"\x01\x10\",\"18\",false]\x03~\x02[\"\x01\x10\",\"60\",true]\x03~",
    "\x02[\"\x01\x10\",\"formatted\",\"\x02[\"\x01\x10\",\"street_address\",\"\x02[\"\x01\x10\",\"locality\",\"\x02[\"\x01\x10\",\"region\",\"\x02[\"\x01\x10\",\"postal_code\",\"\x02[\"\x01\x10\",\"country\",\"CN\"]\x03~",
    "\x02[\"\x01\x10\",\"address\",{\"_sd\":[\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \"]}]\x03~",
    "\x02[\"\x01\x10\",\"sex\",1]\x03~\x02[\"\x01\x10\",\"sex\",2]\x03~\x02[\"\x01\x10\",\"nationality\",\"CN\"]\x03~\x02[\"\x01\x10\",\"birthdate\",\"19",
    "{\"citizen_id\":[\"\x02{\"typ\":\"dc+sd-jwt\",\"kid\":\"\x01 \",\"alg\":\"ES256\"}\x03.\x02{\"iss\":\"https://",
    "\",\"iat\":17,\"exp\":19,\"vct\":\"urn:cn:citizen-id:basic:1\",\"cnf\":{\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\x01 \",\"y\":\"\x01 \"}},\"status\":{\"status_list\":{\"idx\":",
    ",\"uri\":\"https:///status/",
    "\"}},\"_sd\":[\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \",\"\x01 \"],\"_sd_alg\":\"sha-256\"}\x03.\x01@~",
    "\x02[\"\x01\x10\",\"family_name\",\"\x02[\"\x01\x10\",\"given_name\",\"\x02[\"\x01\x10\",\"id_number\",\"",
    "\"]\x03~\x02{\"typ\":\"kb+jwt\",\"alg\":\"ES256\"}\x03.\x02{\"iat\":17,\"aud\":\"x509_san_dns:\",\"nonce\":\"\x01\x10\",\"sd_hash\":\"\x01 \"}\x03.\x01@\"]}",
);
