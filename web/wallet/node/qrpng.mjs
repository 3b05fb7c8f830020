// `present --png FILE`: the offline answer's QR code as a PNG, as the Rust CLI writes it. The
// wasm wallet draws the code (`qrSvg`: one square path per dark run on a white background);
// this file rasterises those squares into an 8-bit greyscale PNG (zlib and CRC-32 from
// node:zlib). Only the wallet's own SVG is read, so anything else is refused.

import { crc32, deflateSync } from "node:zlib";
import { couldNotRun } from "./failure.mjs";

/** The largest side accepted (pixels): a version-40 code at 8 pixels a module is 1,400. */
const MAX_SIDE = 4096;

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A greyscale PNG of `pixels` (0 black, 255 white), `side` × `side`. */
function png(pixels, side) {
  const raw = Buffer.alloc((side + 1) * side);
  for (let y = 0; y < side; y++) {
    raw[y * (side + 1)] = 0; // filter: none
    pixels.copy(raw, y * (side + 1) + 1, y * side, (y + 1) * side);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Rasterises the wasm wallet's QR SVG (`qrSvg`) into a PNG. */
export function svgToPng(svg) {
  const size = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
  const path = /<path[^>]* d="([^"]*)"/.exec(svg);
  if (!size || !path || size[1] !== size[2]) throw couldNotRun("the qr code's svg is not the wallet's");
  const side = Number(size[1]);
  if (side < 21 || side > MAX_SIDE) throw couldNotRun(`the qr code is ${side} pixels wide`);
  const pixels = Buffer.alloc(side * side, 255);
  const rect = /M(\d+) (\d+)h(\d+)v(\d+)H\d+V\d+/gy;
  let m;
  let end = 0;
  while ((m = rect.exec(path[1])) !== null) {
    const [x, y, w, h] = m.slice(1, 5).map(Number);
    if (x + w > side || y + h > side) throw couldNotRun("the qr code's svg draws outside its size");
    for (let row = y; row < y + h; row++) pixels.fill(0, row * side + x, row * side + x + w);
    end = rect.lastIndex;
  }
  if (end !== path[1].length) throw couldNotRun("the qr code's svg is not the wallet's");
  return png(pixels, side);
}
