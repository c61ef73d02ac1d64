/**
 * A JSON body whose one large array is encoded a slice at a time, with an optional cap on the
 * body's size: what lets a range of hundreds of MiB be answered without building it in memory or
 * holding the event loop for the whole encoding.
 */

/** A JSON object with one array member that may be large, split into its parts. */
export interface SlicedArrayBody {
  /** The JSON text up to and including the array's `[`. */
  readonly open: string;
  /** Number of items in the array. */
  readonly itemCount: number;
  /** The JSON text of the item at `index`, asked for only when its slice is produced. */
  encodeItem(index: number): string;
  /**
   * The JSON text from the array's `]` to the end; `cut` says whether the cap left items out
   * (the body then says there is more).
   */
  close(cut: boolean): string;
}

/** How {@link jsonBodySlices} cuts a body. */
export interface SliceOptions {
  /** A slice ends once it holds at least this many bytes (or the items run out). */
  readonly sliceBytes: number;
  /**
   * Most bytes of the whole body (`Infinity`: no cap). Items that would pass it are left out and
   * the body is closed with `close(true)`; the first item is always kept, so a client that pages
   * with the answer always advances, and the body can pass the cap only when that item alone does.
   */
  readonly maxBodyBytes: number;
}

/**
 * The body's JSON text in slices of about `sliceBytes` each; joined they are the whole body.
 * Lazily: an item is encoded only when its slice is asked for, so memory is bounded by a slice
 * (plus one item), not by the body.
 */
export function* jsonBodySlices(
  body: SlicedArrayBody,
  options: SliceOptions,
): Generator<string, void, undefined> {
  // Room kept for the longest closing text, so a cut body still fits the cap.
  const reserve = Buffer.byteLength(body.close(true));
  let total = Buffer.byteLength(body.open);
  let slice = body.open;
  let sliceBytes = total;
  let cut = false;
  for (let index = 0; index < body.itemCount; index++) {
    const encoded = (index === 0 ? '' : ',') + body.encodeItem(index);
    const bytes = Buffer.byteLength(encoded);
    if (index > 0 && total + bytes + reserve > options.maxBodyBytes) {
      cut = true;
      break;
    }
    total += bytes;
    slice += encoded;
    sliceBytes += bytes;
    if (sliceBytes >= options.sliceBytes) {
      yield slice;
      slice = '';
      sliceBytes = 0;
    }
  }
  yield slice + body.close(cut);
}
