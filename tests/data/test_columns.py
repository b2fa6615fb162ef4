"""A table's columns: their types told from the cells (nnctl.data.columns), encoded as a network
takes them (nnctl.data.encoding), the delimiter told from the text (csvtext.sniff), and the record
a checkpoint keeps of them."""

import numpy as np
import pytest

from nnctl.data import columns, csvtext, encoding, table_record, tabular
from nnctl.data.prepare import Prepared
from nnctl.errors import DataError

MISSING = columns.markers(columns.MISSING)
SETTINGS = {"delimiter": ",", "decimal": ".", "encoding": "utf-8", "missing_values": list(columns.MISSING),
            "columns": None}


@pytest.mark.parametrize("name, cells, kind", [
    ("age", ["31", "45", "", "NA", "27"], "numeric"),
    ("flag", ["0", "1", "1", "0"], "numeric"),  # 0/1 numbers are numbers
    ("plan", ["basic", "plus", "basic", "pro"], "categorical"),
    ("plan", ["basic", "N/A", "basic", "plus"], "categorical"),  # two values and a missing one: not binary
    ("senior", ["yes", "no", "no", "yes"], "binary"),
    ("email", ["a@x", "b@x", "c@x", "d@x"], "ignore"),  # a different text in each row
    ("customer_id", ["17", "3", "99", "41"], "ignore"),  # whole numbers, each different, named as an id
    ("customerId", ["17", "3", "99", "41"], "ignore"),
    ("", ["0", "1", "2", "3"], "ignore"),  # pandas' index: unnamed
    ("row", ["1", "2", "3", "4"], "ignore"),  # counts the rows
    ("score", ["17", "3", "99", "41"], "numeric"),  # distinct whole numbers, but neither named nor counting as an id
    ("price", ["1.5", "1.5", "2.25", "nan"], "numeric"),  # 'nan' is missing, not a number
])
def test_a_columns_type_is_told_from_its_cells(name, cells, kind):
    assert columns.infer(name, cells, MISSING)[0] == kind


def test_every_missing_marker_in_any_case_is_missing():
    cells = ["", "NA", "n/a", "NaN", "?", "null", "None", "#N/A", "<NA>", "4"]
    values = encoding.parse(tabular.Table("t.csv", ["x"], [cells], list(range(2, 12))), ["numeric"], MISSING, ".")[0]
    assert np.isnan(values[:-1]).all() and values[-1] == 4.0


def test_a_decimal_comma_is_read_when_said_and_asked_for_when_not():
    table = tabular.parse_csv("x;y\n1,5;a\n2,5;b\n3;a\n4;b\n", "t.csv", "y", None, True, ";")
    assert columns.infer("x", table.cells[0], MISSING, ",") == ("numeric", "numbers")
    with pytest.raises(DataError, match=r"decimal comma, such as '1,5': say so with data.decimal: ','"):
        Prepared.of(table, SETTINGS | {"delimiter": ";"})
    prepared = Prepared.of(table, SETTINGS | {"delimiter": ";", "decimal": ","})
    np.testing.assert_array_equal(prepared.parsed[0], [1.5, 2.5, 3.0, 4.0])


def table_of(text: str, target="y"):
    return tabular.parse_csv(text, "t.csv", target, None, True, ",")


def test_fitting_learns_on_the_training_rows_and_encoding_applies_to_all():
    text = "n,c,b,y\n1,red,no,a\n,blue,yes,b\n3,red,no,a\n100,green,yes,b\n5,,no,a\n"
    prepared = Prepared.of(table_of(text), SETTINGS)
    train = np.array([0, 1, 2, 4])  # 'green' and 100 are not in the training rows
    record = prepared.fit(train)
    numeric, categorical, binary = record["columns"]
    assert numeric == {"name": "n", "type": "numeric", "impute": "median", "fill": 3.0, "indicator": True}
    assert categorical == {"name": "c", "type": "categorical", "categories": ["blue", "red"], "other": False,
                           "missing": True}
    assert binary == {"name": "b", "type": "binary", "values": ["no", "yes"], "fill": 0.25}
    x, names, found = prepared.encode(record)
    assert names == ["n", "n:missing", "c=blue", "c=red", "c:missing", "b=yes"]
    np.testing.assert_array_equal(x, [[1, 0, 0, 1, 0, 0], [3, 1, 1, 0, 0, 1], [3, 0, 0, 1, 0, 0],
                                      [100, 0, 0, 0, 0, 1], [5, 0, 0, 0, 1, 0]])  # 'green': no category
    assert {f["column"]: (f["missing"], f["unknown"], f["example"]) for f in found} == \
        {"n": (1, 0, None), "c": (1, 1, "green")}
    notes = encoding.notes(found, record["columns"], "t.csv")
    assert ("unknown", ("t.csv: column 'c': 1 value the model never saw in training, such as 'green': read as no "
                       "category (all zeros)")) in notes


def test_max_categories_keeps_the_most_frequent_and_groups_the_rest_as_other():
    text = "c,y\n" + "".join(f"{v},a\n" for v in "aaaabbbccde")
    prepared = Prepared.of(table_of(text), SETTINGS | {"columns": {"c": {"type": "categorical", "max_categories": 3}}})
    record = prepared.fit(np.arange(11))
    assert record["columns"][0] | {} == {"name": "c", "type": "categorical", "categories": ["a", "b"], "other": True,
                                         "missing": False}
    x, names, _ = prepared.encode(record)
    assert names == ["c=a", "c=b", "c:other"] and x[:, 2].sum() == 4  # c, c, d, e


@pytest.mark.parametrize("impute, fill", [("median", 2.0), ("mean", 3.5), ("zero", 0.0)])
def test_impute_fills_with_the_training_statistic(impute, fill):
    text = "n,y\n1,a\n2,b\n,a\n9,b\n2,a\n"
    prepared = Prepared.of(table_of(text), SETTINGS | {"columns": {"n": {"type": "numeric", "impute": impute}}})
    record = prepared.fit(np.arange(5))
    assert record["columns"][0]["fill"] == fill and prepared.encode(record)[0][2, 0] == fill


def test_drop_rows_leaves_out_the_rows_a_column_lacks_before_the_split():
    text = "n,m,y\n1,1,a\n,2,b\n3,,a\nNA,4,b\n5,5,a\n"
    prepared = Prepared.of(table_of(text), SETTINGS | {"columns": {"n": {"type": "numeric", "impute": "drop_rows"}}})
    assert prepared.table.lines == [2, 4, 6] and prepared.dropped == {"n": 2} and prepared.table.y == ["a", "a", "a"]
    record = prepared.fit(np.arange(3))
    assert record["columns"][0]["indicator"] is False and record["columns"][1]["indicator"] is True


@pytest.mark.parametrize("text, declared, message", [
    ("n,y\nNA,a\n,b\n?,a\n", None, "every cell is missing"),
    ("c,y\nu,a\nv,b\nw,a\nx,b\n", {"c": "categorical"}, "each of its 4 values occurs once: as many categories as rows"),
    ("c,y\nu,a\nv,b\nw,a\nu,b\n", {"c": "binary"}, "is binary but holds 3 values"),
    ("c,y\nu,a\nv,b\nw,a\n", {"d": "numeric"}, "data.columns names 'd', which is not a feature column"),
    ("c,y\nu,a\nv,b\nw,a\n", {"c": "numeric"},
     "t.csv:2: feature column 'c' holds 'u', not a number, and the column is numeric"),
    ("n,y\n1,a\ninf,b\n", None, "t.csv:3: feature column 'n' holds inf, not a finite number"),
])
def test_what_cannot_be_learnt_is_refused_naming_the_column(text, declared, message):
    with pytest.raises(DataError, match=message):
        prepared = Prepared.of(table_of(text), SETTINGS | {"columns": declared})
        prepared.fit(np.arange(len(prepared.table)))


@pytest.mark.parametrize("text, delimiter", [
    ("a,b,c\n1,2,3\n", ","), ("a;b;c\n1,5;2;3\n", ";"), ("a\tb\n1\t2\n", "\t"), ("a|b\n1|2\n", "|"),
    ('a,b\n"x;y;z",1\n"u;v;w",2\n', ","),  # a quoted delimiter is not one
    ("only\n1\n2\n", ","),  # one column: nothing to tell
])
def test_the_delimiter_is_told_from_the_first_records(text, delimiter):
    assert csvtext.sniff(text) == delimiter


def test_utf8_with_a_byte_order_mark_and_utf16_read_alike():
    text = "name;plan\nZoë;plus\n"
    for raw in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("utf-16")):
        assert csvtext.decode(raw, "t.csv") == text
    assert csvtext.decode(text.encode("cp1252"), "t.csv", "cp1252") == text
    with pytest.raises(DataError, match="not a UTF-8 text file.*data.encoding: cp1252"):
        csvtext.decode(text.encode("cp1252"), "t.csv")


def test_a_checkpoints_record_is_checked_before_use():
    record = {**{k: v for k, v in SETTINGS.items() if k != "columns"}, "target": "y",
              "columns": [{"name": "n", "type": "numeric", "impute": "median", "fill": 1.0, "indicator": True},
                          {"name": "c", "type": "categorical", "categories": ["a", "b"], "other": False,
                           "missing": False}]}
    table_record.check(record, 4, ["n", "n:missing", "c=a", "c=b"])
    for broken, message in [({"fill": float("inf")}, "valid values"), ({"impute": "mode"}, "valid values"),
                            ({"extra": 1}, "keys of its type")]:
        bad = {**record, "columns": [{**record["columns"][0], **broken}, record["columns"][1]]}
        with pytest.raises(DataError, match=message):
            table_record.check(bad, 4, None)
    with pytest.raises(DataError, match="give 4 inputs, the model takes 5"):
        table_record.check(record, 5, None)
    with pytest.raises(DataError, match="names differ"):
        table_record.check(record, 4, ["n", "m", "c=a", "c=b"])
