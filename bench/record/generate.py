"""Seeded generator of a realistic record: persons detained, fined, arrested and
charged, at protest actions or alone, across Russia's regions, 2012-2024.

One row per person and event (the shape of lists of the detained), written as CSV
for `vigil import` with bench/record/events.toml and for DuckDB alike.

    python3 generate.py ROWS SEED OUT.csv
"""
import csv
import random
import sys
from datetime import date, timedelta

SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
            "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
            "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
            "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв"]
MALE = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл",
        "Михаил", "Никита", "Матвей", "Роман", "Егор", "Арсений", "Иван", "Денис", "Евгений"]
FEMALE = ["Анастасия", "Мария", "Анна", "Виктория", "Екатерина", "Наталья", "Марина", "Полина",
          "Дарья", "Алиса", "Ксения", "Елена", "Ольга", "Татьяна", "Юлия", "Софья"]
# Region codes weighted roughly like published detention counts: the capitals lead.
REGIONS = [("RU-MOW", 40), ("RU-SPE", 20), ("RU-NIZ", 3), ("RU-SVE", 4), ("RU-NVS", 3), ("RU-TA", 2),
           ("RU-KDA", 3), ("RU-PER", 2), ("RU-SAM", 2), ("RU-ROS", 2), ("RU-BA", 2), ("RU-KYA", 2),
           ("RU-IRK", 2), ("RU-KGD", 1), ("RU-VOR", 1), ("RU-TOM", 1), ("RU-OMS", 1), ("RU-CHE", 2),
           ("RU-KHA", 1), ("RU-PRI", 1), ("RU-ARK", 1), ("RU-YAR", 1), ("RU-TVE", 1), ("UA-43", 2)]
ACTION_KINDS = [("rally", 5), ("march", 2), ("picket", 3), ("single_picket", 4), ("direct_action", 2), ("stroll", 1)]
TOPICS = ["anti_war", "political_prisoners", "elections", "environment", "social", "anti_putin"]
EVENTS = [("detention", 60), ("administrative_charge", 10), ("fine", 12), ("administrative_arrest", 6),
          ("criminal_case", 3), ("search", 3), ("pretrial_detention", 1), ("sentence", 1), ("dismissal", 1),
          ("expulsion", 1), ("pressure", 2)]
ARTICLES = {"detention": ["20.2 ч.5", "20.2 ч.6.1", "19.3", "20.3.3"], "administrative_charge": ["20.2 ч.5", "20.3.3", "20.2 ч.8"],
            "fine": ["20.2 ч.5", "20.3.3", "20.2 ч.6.1"], "administrative_arrest": ["19.3", "20.2 ч.8"],
            "criminal_case": ["207.3", "280.3", "212.1", "318"], "search": ["207.3", "280.3"],
            "pretrial_detention": ["207.3", "275"], "sentence": ["207.3", "280.3", "275", "284.1"]}
STATIONS = ["ОВД Тверское", "ОВД Басманное", "ОВД Мещанское", "ОВД Якиманка", "ОВД Хамовники", "ОВД Пресненское",
            "ОП № 5", "ОП № 28", "ОП № 76", "Отдел полиции № 1"]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def main():
    rows, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    start = date(2012, 1, 1)
    span = (date(2024, 12, 31) - start).days
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["action", "action_kind", "topic", "name", "birth_year", "gender", "region",
                    "event_kind", "date", "police_station", "articles", "fine_rub", "arrest_days"])
        n = 0
        action_no = 0
        while n < rows:
            # An action with its detainees, or a person persecuted alone.
            region = weighted(rng, REGIONS)
            day = start + timedelta(days=rng.randrange(span))
            if rng.random() < 0.7:
                action_no += 1
                action, kind, topic = f"A{action_no}", weighted(rng, ACTION_KINDS), rng.choice(TOPICS)
                size = min(rows - n, max(1, int(rng.paretovariate(1.3))))
            else:
                action, kind, topic, size = "", "", "", 1
            for _ in range(size):
                female = rng.random() < 0.35
                first = rng.choice(FEMALE if female else MALE)
                last = rng.choice(SURNAMES) + ("а" if female and not rng.choice(SURNAMES).endswith("ий") else "")
                ev = "detention" if action else weighted(rng, EVENTS)
                arts = ARTICLES.get(ev, [])
                w.writerow([action, kind, topic, f"{last} {first}", rng.randint(1950, 2006),
                            "ж" if female else "м", region, ev, day.isoformat(),
                            rng.choice(STATIONS) if ev == "detention" else "",
                            rng.choice(arts) if arts and rng.random() < 0.8 else "",
                            rng.choice([10000, 15000, 20000, 30000, 50000]) if ev == "fine" else "",
                            rng.choice([5, 10, 15, 25, 30]) if ev == "administrative_arrest" else ""])
                n += 1


if __name__ == "__main__":
    main()
