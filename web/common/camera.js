// Reading a QR code from the camera, for both pages (web/desk, web/wallet): getUserMedia into
// a <video>, each frame drawn to a canvas and turned to grayscale here, decoded by the
// verifier package's `decodeQr` (rqrr, in WebAssembly): no JavaScript QR library.

/**
 * Starts the camera into `video` and scans its frames until `decode` finds a QR code, then
 * stops the camera and calls `onText(text)`. Resolves to a function that stops it earlier.
 * Rejects when the camera cannot be opened (no permission, no camera, no secure context).
 */
export async function scanQr(video, decode, onText) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  video.srcObject = stream;
  await video.play();
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const scan = () => {
    if (stopped) return;
    const width = video.videoWidth, height = video.videoHeight;
    if (width && height) {
      canvas.width = width;
      canvas.height = height;
      ctx.drawImage(video, 0, 0, width, height);
      const rgba = ctx.getImageData(0, 0, width, height).data;
      const gray = new Uint8Array(width * height);
      for (let i = 0, j = 0; j < gray.length; i += 4, j++) {
        gray[j] = (299 * rgba[i] + 587 * rgba[i + 1] + 114 * rgba[i + 2]) / 1000;
      }
      let text;
      try {
        text = decode(gray, width, height);
      } catch {
        text = undefined; // a frame the decoder refused: try the next one
      }
      if (text) {
        stop();
        onText(text);
        return;
      }
    }
    timer = setTimeout(scan, 150);
  };
  scan();
  return stop;
}
