"""A DIP city-year as the national medical-insurance platform exports it, from a seed.

Usage:
  python tools/gen_platform_year.py --cases 20000 [--groups 5000] [--institutions 200] [--seed 1] -o DIR

Writes, for examples/dip_platform/dip_platform_city.yaml (README "DIP city-year from the
national platform's columns"):

  DIR/catalogue.csv     dip_dise_grp_code, insutype (310 职工 / 390 居民), value (score, 4 places):
                        one row per disease group and insurance type (2 × --groups rows)
  DIR/levels.csv        key (hosp_lv), value (基本系数): 三级 1.2, 二级 1.0, 一级 0.8
  DIR/institutions.csv  fixmedins_code, fixmedins_name, hosp_lv, bonus_coefficient
  DIR/cases.csv         setl_id, fixmedins_code, psn_no, insutype, dip_dise_grp_code, dise_avg_fee,
                        std_fee, medfee_sumamt, hifp_pay, grs_dise_flag
  DIR/city.yaml         dip_budget, base_disease_average_cost

Run: rulesengine batch examples/dip_platform/dip_platform_city.yaml --columns
rulesets/mappings/national_platform.yaml --table DIR/institutions.csv --table DIR/cases.csv
--table catalogue_score=DIR/catalogue.csv --table level_coefficient=DIR/levels.csv
--facts DIR/city.yaml -o OUT. The same seed gives the same files, byte for byte; amounts are
whole fen (numpy PCG64), written as plain decimals. Case mix: scores 50 to 20,000; the level
norm (std_fee) 10 yuan a point; cost 60%–160% of the norm, about 3% low (< 50%), 3% high
(200%–400%) and 0.3% extreme (500%–800%); 10% grassroots diseases; hifp_pay 55%–90% of cost.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

LEVELS = (("三级", "1.2"), ("二级", "1.0"), ("一级", "0.8"))
INSUTYPES = ("310", "390")
CASE_HEADER = ("setl_id,fixmedins_code,psn_no,insutype,dip_dise_grp_code,dise_avg_fee,std_fee,"
               "medfee_sumamt,hifp_pay,grs_dise_flag")


def yuan(fen: np.ndarray) -> list[str]:
    """Whole fen -> plain decimals with two places (no float on the way)."""
    return [f"{f // 100}.{f % 100:02d}" for f in fen.tolist()]


def generate(n_cases: int, n_groups: int = 5000, n_institutions: int = 200, seed: int = 1) -> dict:
    """The city-year's columns as integer arrays (scores in 1/10000, money in fen)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    scores = rng.integers(50_0000, 20_000_0000, size=(n_groups, 2))  # [group, insutype]
    level = rng.choice(3, size=n_institutions, p=(0.2, 0.4, 0.4))
    bonus = rng.choice(np.array([0, 0, 0, 3, 5, 10]), size=n_institutions)  # hundredths
    inst = np.sort(rng.integers(0, n_institutions, size=n_cases))
    group = rng.integers(0, n_groups, size=n_cases)
    insutype = rng.integers(0, 2, size=n_cases)
    std = np.maximum(scores[group, insutype] // 10, 1)  # 10 yuan a point: score/10000 × 1000 fen
    kind = rng.random(n_cases)
    ratio = np.where(kind < 0.03, rng.uniform(0.10, 0.49, n_cases),
                     np.where(kind < 0.06, rng.uniform(2.0, 4.0, n_cases),
                              np.where(kind < 0.063, rng.uniform(5.0, 8.0, n_cases),
                                       rng.uniform(0.6, 1.6, n_cases))))
    cost = np.maximum((std * ratio).astype(np.int64), 1)  # the draw only shapes the mix; money is int fen
    fund = cost * rng.integers(55, 91, size=n_cases) // 100
    return {"scores": scores, "level": level, "bonus": bonus, "inst": inst, "group": group,
            "insutype": insutype, "std": std, "cost": cost, "fund": fund,
            "grassroots": rng.random(n_cases) < 0.10}


def write(data: dict, folder: pathlib.Path) -> None:
    """The five files of a platform city-year (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    scores = data["scores"]
    lines = ["dip_dise_grp_code,insutype,value"]
    for g in range(scores.shape[0]):
        for t, code in enumerate(INSUTYPES):
            s = int(scores[g, t])
            lines.append(f"G{g + 1:05d},{code},{s // 10000}.{s % 10000:04d}")
    (folder / "catalogue.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "levels.csv").write_text("key,value\n" + "".join(f"{k},{v}\n" for k, v in LEVELS), encoding="utf-8")
    lines = ["fixmedins_code,fixmedins_name,hosp_lv,bonus_coefficient"]
    for i, (lv, b) in enumerate(zip(data["level"].tolist(), data["bonus"].tolist())):
        lines.append(f"H{i + 1:04d},定点医疗机构{i + 1},{LEVELS[lv][0]},{b // 100}.{b % 100:02d}")
    (folder / "institutions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    std, cost, fund = yuan(data["std"]), yuan(data["cost"]), yuan(data["fund"])
    with open(folder / "cases.csv", "w", encoding="utf-8", newline="") as out:
        out.write(CASE_HEADER + "\n")
        rows = zip(data["inst"].tolist(), data["insutype"].tolist(), data["group"].tolist(),
                   std, cost, fund, data["grassroots"].tolist())
        for n, (i, t, g, s, c, f, grs) in enumerate(rows, 1):
            out.write(f"S{n:08d},H{i + 1:04d},P{n:08d},{INSUTYPES[t]},G{g + 1:05d},{s},{s},{c},{f},{int(grs)}\n")
    budget = int(data["fund"].sum()) * 98 // 100  # the DIP budget: 98% of the year's fund accounting
    (folder / "city.yaml").write_text(
        "# 生成的DIP城市年度（tools/gen_platform_year.py）\n"
        f"dip_budget: {budget // 100}.{budget % 100:02d}\nbase_disease_average_cost: 10000.00\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=5000, help="disease groups (catalogue rows: 2 ×)")
    parser.add_argument("--institutions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", required=True, metavar="DIR")
    args = parser.parse_args(argv)
    write(generate(args.cases, args.groups, args.institutions, args.seed), pathlib.Path(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
