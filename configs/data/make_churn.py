"""Writes configs/data/churn.csv: a messy customer table, as a European spreadsheet saves one.

    python configs/data/make_churn.py          # rewrites churn.csv, byte for byte the same

The recipe (NumPy's default generator, seed 2024; nothing is downloaded): 1,000 customers of a
telephone company. Each has a plan (basic, plus, pro, business), a city (14, three of them rare),
a contract (monthly, yearly), a tenure in months, a monthly fee that follows the plan, a number of
support calls, a way of paying (card, bank transfer, invoice, or not recorded) and whether they
are a senior. Whether they churned is drawn from a logistic model of these: basic plans, monthly
contracts (above all in the first year), short tenures, many support calls and invoices make
leaving likelier (the weights are in `churn_probability`), so no model can be perfect, and a
linear one misses the first-year effect.

The file is what people have rather than what a library wants: semicolons between fields,
decimal commas (29,90), a UTF-8 byte-order mark (Excel's "CSV UTF-8"), a city whose name holds the
delimiter (quoted: "Bolzano; Bozen"), an ID column, and missing cells of several spellings:
tenure empty, NA or ?, the fee n/a, the payment empty. Train it with configs/churn_csv.yaml.
"""

import csv
import io
from pathlib import Path

import numpy as np

ROWS, SEED = 1000, 2024
PLANS = {"basic": 19.9, "plus": 29.9, "pro": 44.9, "business": 59.9}
CITIES = ["Milano", "Torino", "Genova", "Bologna", "Firenze", "Roma", "Napoli", "Bari", "Palermo", "Verona",
          "Padova", "Bolzano; Bozen", "Aosta", "Matera"]
CITY_SHARE = np.array([12, 10, 8, 9, 8, 14, 11, 7, 7, 5, 5, 2, 1, 1], float)
PAYMENTS = ["card", "bank transfer", "invoice", ""]


def churn_probability(plan, contract, tenure, calls, fee, payment):
    """The chance a customer leaves: a logistic model of what the company knows."""
    monthly = contract == "monthly"
    logit = (-1.6 + 1.1 * (plan == "basic") - 0.7 * (plan == "business") + 0.6 * monthly
             + 2.2 * (monthly & (tenure <= 12)) - 0.03 * tenure + 0.9 * np.minimum(calls, 3) - 0.15 * calls
             + 0.015 * (fee - 35) + 0.6 * (payment == "invoice"))
    return 1 / (1 + np.exp(-logit))


def rows(rng) -> list[list[str]]:
    plan = rng.choice(list(PLANS), ROWS, p=[0.35, 0.3, 0.2, 0.15])
    city = rng.choice(CITIES, ROWS, p=CITY_SHARE / CITY_SHARE.sum())
    contract = np.where(rng.random(ROWS) < 0.55, "monthly", "yearly")
    tenure = rng.integers(1, 73, ROWS)
    fee = np.array([PLANS[p] for p in plan]) + rng.normal(0, 3, ROWS).round(1)
    calls = rng.poisson(1.5, ROWS)
    payment = rng.choice(PAYMENTS, ROWS, p=[0.4, 0.3, 0.25, 0.05])
    senior = np.where(rng.random(ROWS) < 0.2, "yes", "no")
    churned = rng.random(ROWS) < churn_probability(plan, contract, tenure, calls, fee, payment)
    out = []
    for i in range(ROWS):
        shown_tenure = str(tenure[i]) if rng.random() > 0.06 else rng.choice(["", "NA", "?"])
        shown_fee = f"{fee[i]:.2f}".replace(".", ",") if rng.random() > 0.03 else "n/a"
        out.append([f"C-{i + 1:05d}", plan[i], city[i], contract[i], shown_tenure, shown_fee, str(calls[i]),
                    payment[i], senior[i], "yes" if churned[i] else "no"])
    return out


def main() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["customer_id", "plan", "city", "contract", "tenure_months", "monthly_fee", "support_calls",
                     "payment", "senior", "churned"])
    writer.writerows(rows(np.random.default_rng(SEED)))
    path = Path(__file__).with_name("churn.csv")
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    print(f"wrote {path} ({ROWS} rows)")


if __name__ == "__main__":
    main()
