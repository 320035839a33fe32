/**
 * The largest image ercnn decodes, in pixels: PIL's default `Image.MAX_IMAGE_PIXELS` (89,478,485, about 9459²), past
 * which PIL treats an image as a decompression bomb. Checked from the header before any pixel is decoded; a store's
 * shape is held to it too.
 */
export const MAX_IMAGE_PIXELS = 89_478_485;
