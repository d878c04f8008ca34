"""A small hand-written retrieval set for the engine tests: a fictional company's annual report.

Chunks are deliberately alike (same company, same register, many shared words), and the
questions paraphrase them, so the base model does not already rank every chunk first and
finetuning has something to learn.
"""

from __future__ import annotations

from llama_index.finetuning import EmbeddingQAFinetuneDataset

CHUNKS = [
    "Kestrel Mobility recorded total revenue of $2.1 billion for fiscal 2023, an increase of 18% "
    "compared with the prior year, driven mainly by higher ride volumes in large cities.",
    "Net loss for fiscal 2023 narrowed to $310 million from $540 million a year earlier, as "
    "insurance costs per ride fell and marketing spending was reduced.",
    "Active riders reached 24.6 million in the fourth quarter, meaning people who took at least "
    "one trip on the platform during the three months.",
    "Revenue per active rider rose to $48.20 in the fourth quarter because average trip length "
    "increased and priority pickups became more popular.",
    "Drivers on the platform are independent contractors, not employees; a reclassification "
    "under state labor law could substantially raise our operating costs.",
    "Our autonomous vehicle unit was sold to a chip maker in March 2023 for $180 million, and "
    "we now partner with third parties for self-driving technology.",
    "Insurance reserves are estimated by an outside actuary each quarter; adverse development "
    "of prior-year claims added $95 million to cost of revenue.",
    "Headcount fell from 4,900 to 3,800 full-time staff after the reorganization announced in "
    "April, which eliminated two layers of management.",
    "The company's headquarters lease in Oakland runs until 2031; we subleased four of the "
    "nine floors to a biotechnology firm during the year.",
    "Bike and scooter sharing operates in 14 cities, with roughly 61,000 shared bicycles and "
    "e-scooters deployed at the end of the year.",
    "Cash, cash equivalents and short-term investments totaled $1.7 billion at year end, and "
    "we have no outstanding borrowings under the revolving credit facility.",
    "Convertible senior notes of $750 million mature in 2026 and bear interest at 1.5%, "
    "payable semiannually in May and November.",
    "Stock-based compensation expense was $420 million, mostly from restricted stock units "
    "granted to engineers that vest over four years.",
    "A data breach at a vendor exposed the email addresses of about 90,000 riders; no payment "
    "card numbers were taken, and regulators were notified.",
    "Customers in airports can book rides from dedicated pickup zones at 31 major airports "
    "under concession agreements that require per-trip fees.",
    "The Canadian business expanded from Toronto to Vancouver and Montreal, and international "
    "revenue remains below 5% of the total.",
    "Regulators in California proposed rules requiring that 90% of ride miles be electric by "
    "2030, which would require incentives for drivers to buy electric cars.",
    "Our board has seven directors, five of whom are independent; the chair and chief "
    "executive roles are held by different people.",
    "Share repurchases: the board authorized a $500 million buyback program, of which $120 "
    "million was used during the fourth quarter.",
    "Research and development expense decreased 22% to $610 million because of lower "
    "headcount and the sale of the self-driving unit.",
    "Seasonality: ride demand is usually weakest in January and February and peaks around "
    "the December holidays and New Year's Eve.",
    "Fleet rentals let drivers without their own car lease a vehicle by the week through a "
    "partnership with a national rental company.",
    "Litigation: a class action alleges that surge pricing during a 2022 storm violated "
    "price-gouging laws; we believe the claims lack merit.",
    "Our carbon emissions per passenger mile fell 9% as the share of hybrid and electric "
    "vehicles used on the platform grew to 21%.",
]

# Chunks no question is about, each close to one of CHUNKS in topic and wording: they are
# what the base model confuses, and what hard-negative mining finds.
DISTRACTORS = [
    "Kestrel Mobility expects total revenue growth to slow in fiscal 2024 as ride volumes in "
    "large cities return to pre-pandemic patterns.",
    "Net loss is expected to widen in the first half of fiscal 2024 because of spending on "
    "driver incentives for electric vehicles.",
    "Active drivers numbered 1.1 million in the fourth quarter, counting anyone who completed "
    "at least one trip during the three months.",
    "Revenue per ride declined slightly in the fourth quarter because shared rides, which are "
    "priced lower, made up a larger portion of trips.",
    "Delivery couriers in two states are classified as employees under local law, and their "
    "wages are recorded in operations and support expense.",
    "We test autonomous shuttles with a municipal transit agency in Phoenix; the pilot is "
    "funded by a federal grant and ends in 2025.",
    "Insurance premiums paid to third-party carriers rose 6% because of higher rates for "
    "commercial auto coverage in California.",
    "We plan to hire about 300 engineers in fiscal 2024, mostly for the maps, pricing and "
    "payments teams.",
    "The company opened a driver support hub in Nashville under a five-year lease and closed "
    "two smaller hubs in Texas.",
    "Bike and scooter ride revenue grew 11% as trips per vehicle increased, while the number "
    "of cities served stayed the same.",
    "Net cash used in operating activities was $120 million, an improvement of $400 million "
    "over the prior fiscal year.",
    "The credit facility of $1 billion expires in 2027 and carries a commitment fee on the "
    "undrawn amount.",
    "Employee salaries and benefits excluding stock awards were $980 million, down from $1.2 "
    "billion the year before.",
    "We completed a third-party audit of our payment systems and were certified compliant "
    "with card industry security standards.",
    "Airport trips are about 8% of rides and have longer average trip lengths than rides "
    "within city centers.",
    "We closed our operations in Mexico City in 2022 after two years because of low demand "
    "and regulatory costs.",
    "New York City capped the number of ride-hail vehicles licensed and set a minimum hourly "
    "pay for drivers.",
    "Directors are elected annually by a majority of votes cast, and the audit committee "
    "meets at least four times a year.",
    "Dividends: the company has never paid a cash dividend and does not expect to pay one in "
    "the foreseeable future.",
    "Sales and marketing expense decreased 30% to $450 million as the company reduced rider "
    "promotions and brand advertising.",
    "Weather such as heavy rain or snow increases ride demand in the short term but reduces "
    "bike and scooter usage.",
    "The vehicle service centers offer discounted maintenance and oil changes to drivers in 12 "
    "cities.",
    "Regulatory proceedings: a state agency is reviewing whether our background checks for "
    "drivers meet the required standard.",
    "The company bought renewable energy credits to cover electricity used in its offices and "
    "bike charging stations.",
]

QUESTIONS = [
    (
        "How much money did the company bring in during the 2023 fiscal year?",
        "By what percentage did sales grow versus the previous year?",
    ),
    (
        "How large was the 2023 loss, and how does it compare with the year before?",
        "Why did the company lose less money than before?",
    ),
    ("How many people used the service in the last quarter?", "How is a user counted as active?"),
    (
        "What was the average income earned from each user in Q4?",
        "Why did the amount earned per customer go up?",
    ),
    (
        "Are the people who drive considered staff of the company?",
        "What legal risk could make labor more expensive?",
    ),
    (
        "What happened to the self-driving car division?",
        "Who bought the robotaxi business and for how much?",
    ),
    (
        "Who estimates the accident claim liabilities?",
        "How much did older claims increase costs this year?",
    ),
    (
        "How many full-time workers were let go during the restructuring?",
        "What changed in the management structure in April?",
    ),
    (
        "Where is the main office and when does its rental contract end?",
        "Did the firm rent out part of its office space?",
    ),
    (
        "How many shared bikes and e-scooters are on the streets?",
        "In how many cities does micromobility run?",
    ),
    (
        "How much liquidity did the business hold at the end of the year?",
        "Does the firm owe anything on its revolving credit line?",
    ),
    (
        "When do the convertible bonds come due, and what coupon do they pay?",
        "How often is interest paid on the debt?",
    ),
    (
        "How much did equity awards to employees cost?",
        "Over what period do employee stock grants vest?",
    ),
    (
        "Was customer information stolen in a security incident?",
        "Were credit card numbers compromised?",
    ),
    ("Can passengers get a car at the airport?", "What do airports charge the company?"),
    ("Which Canadian cities were added?", "How big is the business outside the United States?"),
    (
        "What did California propose about electric vehicles?",
        "What share of miles must be zero-emission by 2030?",
    ),
    ("How many independent members sit on the board?", "Is the chief executive also the chair?"),
    (
        "How much stock did the company buy back in Q4?",
        "What is the size of the authorized repurchase plan?",
    ),
    (
        "Why did spending on engineering and research drop?",
        "What was the R&D expense for the year?",
    ),
    ("In which months are rides slowest?", "When is rider demand highest?"),
    (
        "How can someone drive for the service without owning a vehicle?",
        "Who supplies the weekly rental cars for drivers?",
    ),
    (
        "What lawsuit concerns surge pricing during a storm?",
        "Does the company think the price-gouging case is valid?",
    ),
    (
        "How much did emissions per mile go down?",
        "What fraction of cars on the platform are hybrid or electric?",
    ),
]


def small_dataset(
    n_chunks: int | None = None, distractors: bool = True
) -> EmbeddingQAFinetuneDataset:
    """Two questions per chunk (ids ``node-<i>``, ``q-<i>-<j>``), plus distractor chunks
    ``other-<i>`` that no question is about."""
    n = len(CHUNKS) if n_chunks is None else n_chunks
    corpus = {f"node-{i}": CHUNKS[i] for i in range(n)}
    if distractors:
        corpus |= {f"other-{i}": DISTRACTORS[i] for i in range(n)}
    queries, relevant = {}, {}
    for i in range(n):
        for j, question in enumerate(QUESTIONS[i]):
            queries[f"q-{i}-{j}"] = question
            relevant[f"q-{i}-{j}"] = [f"node-{i}"]
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
