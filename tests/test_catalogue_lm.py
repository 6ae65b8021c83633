"""Published-value checks, with numpy only, for the Farseer, sparsity and broken-power-law entries of the catalogue."""

import numpy as np
import pytest

import bayescale as bs

VIT_PARAMS = 12 * 12 * 768**2  # the authors' notebook: non-zero parameters = VIT_PARAMS * scale * (1 - S)
# (scale, sparsity, training images, validation loss): rows of jaxpruner/projects/bigsparse/vit-data.json
VIT_RUNS = [
    (1.0, 0.875, 2.25e8, 6.3339285887),
    (0.0078125, 0.0, 2.25e8, 9.7578700901),
    (2.0, 0.75, 1.8e9, 5.2840933368),
    (0.125, 0.9375, 9e8, 7.4236704791),
    (0.5, 0.5, 4.5e8, 5.9665440491),
]


def test_frantar_reference_is_the_authors_vit_fit_in_raw_units():
    law = bs.get_law("frantar-sparsity")
    ref = law.references["frantar2023_vit"].values
    a, b, c, d, e, f, g = 1.30485411, 0.82101251, 2.07506343, 0.39222675, 0.27818217, 0.88979104, 4.51669257
    for scale, s, data, loss in VIT_RUNS:
        n = VIT_PARAMS * scale * (1 - s)
        notebook = (a * (1 / (1 - s)) ** -b + c) * (n / 1e6) ** -d + e * (data / 1e9) ** -f + g  # its law(), N / 1e6, D / 1e9
        ours = law.evaluate({"S": s, "N": n, "D": data, **ref})
        assert ours == pytest.approx(notebook, rel=1e-6)
        assert ours == pytest.approx(loss, rel=0.03)  # the fit's residuals on the authors' own runs are 0.1-2.5%


def test_bnsl_reference_is_two_power_laws_joined_at_d1():
    law = bs.get_law("bnsl")
    ref = law.references["caballero2023_4digit"].values
    a, b, c0, c1, d1, f1 = (ref[k] for k in ("a", "b", "c0", "c1", "d1", "f1"))
    x = np.array([2.0, 5.0, 20.0, 3000.0, 4000.0])
    by_hand = a + b * x**-c0 * (1 + (x / d1) ** (1 / f1)) ** (-c1 * f1)  # bnsl_with_1_break in the authors' code
    np.testing.assert_allclose(law.evaluate({"x": x, **ref}), by_hand, rtol=1e-12)
    h = 1e-4
    slope = (np.log(law.evaluate({"x": x * np.exp(h), **ref}) - a) - np.log(by_hand - a)) / h
    np.testing.assert_allclose(slope[:3], -c0, rtol=1e-3)  # before the break: y - a falls as x^-c0
    np.testing.assert_allclose(slope[3:], -(c0 + c1), rtol=1e-3)  # after it: as x^-(c0 + c1)


def test_farseer_coordinates_are_li_et_al_eq3():
    """The catalogue's (Q, s, p) coordinates give back exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^-exp(a1 N^alpha + b1)."""
    law = bs.get_law("farseer")
    v = {"E": 2.31, "sE": -0.06, "gamma": -0.17, "B": 73700.0, "sB": 0.54, "beta": -0.05, "A": 0.54, "sA": 0.04, "alpha": -0.25}

    def eq3_coefficients(q, s, p):  # a_k, b_k for N in parameters (Li et al.'s a_k n^p with n = N / 1e9)
        return s / p * 1e9**-p, np.log(q) - s / p

    a3, b3 = eq3_coefficients(v["E"], v["sE"], v["gamma"])
    a2, b2 = eq3_coefficients(v["B"], v["sB"], v["beta"])
    a1, b1 = eq3_coefficients(v["A"], v["sA"], v["alpha"])
    n, d = np.geomspace(1e7, 1e10, 5), np.geomspace(1e11, 1e8, 5)
    eq3 = np.exp(a3 * n ** v["gamma"] + b3) + np.exp(a2 * n ** v["beta"] + b2) * d ** -np.exp(a1 * n ** v["alpha"] + b1)
    np.testing.assert_allclose(law.evaluate({"N": n, "D": d, **v}), eq3, rtol=1e-10)
    at_1e9 = law.evaluate({"N": 1e9, "D": 1e10, **v})
    assert at_1e9 == pytest.approx(v["E"] + v["B"] * 1e10 ** -v["A"], rel=1e-12)
