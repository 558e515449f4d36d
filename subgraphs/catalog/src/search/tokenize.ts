/**
 * Splits text into search words with the ICU word segmenter (Intl.Segmenter, built into Node):
 * English words and numbers as they are, runs of Chinese characters kept together (ICU cuts
 * unknown brand names such as 华为 into single characters; we glue those back), all lower-cased.
 */
const segmenter = new Intl.Segmenter("zh", { granularity: "word" });
const HAN = /\p{Script=Han}/u;

export function tokenize(text: string, max = 12): string[] {
  const out: string[] = [];
  let run = "";
  const flush = () => {
    if (run) out.push(run);
    run = "";
  };
  for (const s of segmenter.segment(text.normalize("NFKC").toLowerCase())) {
    if (!s.isWordLike) {
      flush();
      continue;
    }
    const w = s.segment;
    if (HAN.test(w) && [...w].length === 1)
      run += w; // single Han characters: glue
    else {
      flush();
      out.push(w);
    }
  }
  flush();
  return [...new Set(out)].slice(0, max);
}
