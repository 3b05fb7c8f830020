// A PNG (8-bit gray, gray+alpha, RGB or RGBA, not interlaced: what `wallet present --png`
// writes) to a YUV4MPEG2 video for Chromium's fake camera
// (--use-file-for-fake-video-capture). Node's standard library only.
import { inflateSync } from "node:zlib";

/** Decodes a PNG to {width, height, gray} (luma, one byte a pixel). */
export function decodePng(buf) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => buf[i] === b)) throw new Error("not a png");
  let off = 8;
  let width = 0, height = 0, depth = 0, color = 0, interlace = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      color = data[9];
      interlace = data[12];
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  const channels = { 0: 1, 4: 2, 2: 3, 6: 4 }[color];
  if (depth !== 8 || !channels || interlace !== 0) throw new Error(`unsupported png (depth ${depth}, color ${color}, interlace ${interlace})`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad png filter ${filter}`);
      out[x] = v & 0xff;
    }
    prev = out;
  }
  const gray = Buffer.alloc(width * height);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    gray[i] = channels >= 3 ? Math.round((299 * pixels[p] + 587 * pixels[p + 1] + 114 * pixels[p + 2]) / 1000) : pixels[p];
  }
  return { width, height, gray };
}

/** The PNG centred on a white 4:3 frame (even sides), as `frames` identical 4:2:0 frames. */
export function pngToY4m(png, frames = 5) {
  const img = decodePng(png);
  const side = Math.max(img.width, img.height) + 64;
  const height = side + (side % 2);
  const width = Math.ceil((height * 4) / 3 / 2) * 2;
  const y = Buffer.alloc(width * height, 255);
  const ox = (width - img.width) >> 1, oy = (height - img.height) >> 1;
  for (let r = 0; r < img.height; r++) {
    img.gray.copy(y, (oy + r) * width + ox, r * img.width, (r + 1) * img.width);
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), y, chroma]);
  return Buffer.concat([header, ...Array(frames).fill(frame)]);
}
