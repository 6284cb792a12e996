"""Latin view of a generated Russian-shape CSV for the Python peers (splink,
recordlinkage), which compare Latin strings.

    python latin.py IN.csv OUT.csv

What it does, column by column (the same view `vigil-link-gen --latin-out` writes
for the plain Russian set, which the hard shapes' generator does not offer):
- text columns: ICAO Doc 9303 transliteration (the passport rules: ж zh, х kh,
  ц ts, щ shch, ю iu, я ia, ъ ie, й i, ё e), then lower case, punctuation to
  spaces, spaces collapsed;
- date columns (birth_date, action_date): every form vigil reads (1985-09-03,
  03.09.1985, 3/9/85, 19850903) to ISO 1985-09-03; a partial date becomes empty;
- one extra column birth_year (the year of birth_date, also from a partial date),
  as the Russian set's Latin view has;
- rec_id and entity_id unchanged.
"""
import csv
import re
import sys

ICAO = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e",
    "ю": "iu", "я": "ia", "і": "i", "ї": "i", "є": "ie", "ґ": "g",
}
DATES = {"birth_date", "action_date", "date_of_birth"}
KEEP = {"rec_id", "entity_id"}


def latin(text):
    out = "".join(ICAO.get(c, c) for c in text.lower())
    out = re.sub(r"[^0-9a-z]+", " ", out)
    return out.strip()


def two_digit_year(y):
    return 1900 + y if y > 30 else 2000 + y


def parse_date(raw):
    """(year, month, day) with month/day None when absent; None when unreadable."""
    parts = [p for p in re.split(r"[-./ ]", raw.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        return None
    try:
        if len(parts) == 1:
            p = parts[0]
            if len(p) == 8:
                return int(p[:4]), int(p[4:6]), int(p[6:8])
            if len(p) == 6:
                return int(p[:4]), int(p[4:6]), None
            if len(p) == 4:
                return int(p), None, None
            return None
        if len(parts) == 2:
            a, b = parts
            if len(a) == 4:
                return int(a), int(b), None
            if len(b) == 4:
                return int(b), int(a), None
            return None
        if len(parts) == 3:
            a, b, c = parts
            if len(a) == 4:
                return int(a), int(b), int(c)
            y = int(c)
            if len(c) == 2:
                y = two_digit_year(y)
            return y, int(b), int(a)
    except ValueError:
        return None
    return None


def iso(raw):
    d = parse_date(raw)
    if d is None or d[1] is None or d[2] is None:
        return ""
    return f"{d[0]:04}-{d[1]:02}-{d[2]:02}"


def main(src, dst):
    with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
        r = csv.DictReader(f)
        header = list(r.fieldnames)
        has_birth = "birth_date" in header
        out_header = header + (["birth_year"] if has_birth else [])
        w = csv.DictWriter(g, out_header)
        w.writeheader()
        for row in r:
            out = {}
            for k, v in row.items():
                if k in KEEP:
                    out[k] = v
                elif k in DATES:
                    out[k] = iso(v)
                else:
                    out[k] = latin(v)
            if has_birth:
                d = parse_date(row["birth_date"])
                out["birth_year"] = str(d[0]) if d else ""
            w.writerow(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
