"""Regenerate tabsynth's bundled sample tables: ``medical.csv`` and ``financial.csv``.

Run ``python data/samples/make_samples.py`` from anywhere; it rewrites both CSVs and their
``*.metadata.json`` files next to this script, byte for byte the same each time.

Why generated and not real: the samples ship inside the package and appear in docs and tests,
so they must contain no record of any real person. Every row below is drawn from a seeded
random generator whose marginal rates are set from published aggregate statistics; no row of
any real data set was read, copied or used to fit anything. The aggregates were chosen so that
the tables *look* like the real thing to a synthesizer: skewed counts, heaped amounts, planted
dependencies between columns, logical rules, and missing values whose chance depends on other
columns (MAR) as well as pure chance (MCAR). A synthesizer that treats columns as independent
visibly fails on them.

Published statistics used (each constant below names its source):

Medical table
  [HCUP-180] Weiss AJ, Elixhauser A. Overview of Hospital Stays in the United States, 2012.
             HCUP Statistical Brief #180. AHRQ, October 2014. (36.5 M stays, mean LOS 4.5 days,
             22 % of stays maternal or neonatal, females hospitalised more often.)
  [HCUP-FF]  HCUP Facts and Figures 2008: Statistics on Hospital-Based Care in the United
             States. AHRQ. (Share of patients by age; about one third of stays are aged 65+;
             circulatory conditions the most frequent cause of stays.)
  [HCUP-277] McDermott KW, Roemer M. Most Frequent Principal Diagnoses for Inpatient Stays in
             U.S. Hospitals, 2018. HCUP Statistical Brief #277. AHRQ, July 2021. (Septicemia,
             heart failure, osteoarthritis, pneumonia, diabetes with complication top the list;
             cardiovascular and musculoskeletal diagnoses rank high from age 45.)
  [HCUP-1]   Elixhauser A, Owens P. Hospital Admissions That Began in the Emergency
             Department, 2003. HCUP Statistical Brief #1. AHRQ, 2006. (55 % of non-maternal
             admissions begin in the emergency department.)
  [HCUP-79]  HCUP Statistical Brief #79 (2009), Table 1: 27-30 % of stays of adults aged 45-74
             were elective admissions in 2007.
  [HCUP-248] Bailey MK, Weiss AJ, Barrett ML, Jiang HJ. Characteristics of 30-Day All-Cause
             Hospital Readmissions, 2010-2016. HCUP Statistical Brief #248. AHRQ, Feb 2019.
             (All-payer 30-day readmission rate 13.9 % in 2016.)
  [HCUP-304] Jiang HJ, Hensche M. Characteristics of 30-Day All-Cause Hospital Readmissions,
             2016-2020. HCUP Statistical Brief #304. AHRQ, Sept 2023. (Readmission rates differ
             by body system of the index diagnosis; used for the direction of effects only.)
  [CDC-NDSR] CDC. National Diabetes Statistics Report, 2020. (13.0 % of US adults have
             diabetes; 26.8 % of those aged 65+.)
  [ADA]      American Diabetes Association. Standards of Medical Care in Diabetes, section 2
             "Classification and Diagnosis": HbA1c >= 6.5 % diagnoses diabetes, 5.7-6.4 %
             prediabetes.
  [MAYO]     Mayo Clinic Laboratories test catalog, reference values: creatinine (serum)
             0.59-1.04 mg/dL females, 0.74-1.35 mg/dL males; glucose fasting 70-99 mg/dL.
  [NHANES]   CDC/NCHS, NHANES blood-pressure summaries: mean systolic pressure rises from
             about 115 mmHg in the twenties to about 135-140 mmHg past 70.

Financial table
  [LC-RATES] LendingClub, "Interest Rates and How We Set Them" (lendingclub.com, 2016-2017
             snapshot): grades A-G with five sub-grades each, sub-grade rates 5.32 % (A1) to
             28.99 % (G5), 36- or 60-month terms, fixed rates.
  [LC-STATS] LendingClub, "LendingClub Statistics" pages and public loan-book summaries
             2016-2020: grade mix, purpose mix (debt consolidation ~57 %, credit card ~22 %),
             home-ownership mix, loan amounts $1,000-$40,000, share of 60-month loans (~30 %),
             charge-off rates rising steeply by grade.
  [LC-10K]   LendingClub Corp. annual reports (Form 10-K) 2016-2020: loan originations rose
             2016-2019 and collapsed in 2020.
  [SCF-2019] Bhutta N. et al. Changes in U.S. Family Finances from 2016 to 2019: Evidence from
             the Survey of Consumer Finances. Federal Reserve Bulletin 106(5), Sept 2020.
             (Median family income $58,600; online-loan borrowers sit somewhat above it.)
  [H15]      Federal Reserve statistical release H.15, effective federal funds rate, annual
             averages 2016-2020 (0.40, 1.00, 1.83, 2.16, 0.38 %).
  [BLS-TEN]  BLS, Employee Tenure in 2020 (USDL-20-1791): median tenure 4.1 years, rising
             steeply with age.

All numbers are rounded; where a source gives no figure (for example the exact size of an
effect) the constant is an assumption chosen to be plausible, and its comment says so. The
data cards ``medical.md`` and ``financial.md`` describe the resulting columns.

Reproducibility: only ``Generator.random`` and ``Generator.standard_normal`` are used (whose
streams numpy has kept stable since 1.17), values are rounded to a few decimals before being
written, and the CSV text is formatted here rather than by pandas' float printer. NumPy does
not promise identical streams across all future releases (NEP 19); if a new numpy ever changes
them, rerun this script and commit the new files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_ROWS = 8000
MEDICAL_SEED = 20240501
FINANCIAL_SEED = 20240502

# ============================================================================================
# Public domains (written to *.metadata.json). Bounds are physiological or product limits,
# never the sample's own min/max, so they reveal nothing about the rows.
# ============================================================================================

DIAGNOSIS_GROUPS = (
    "Circulatory", "Respiratory", "Digestive", "Infectious", "Musculoskeletal", "Injury",
    "Mental", "Neoplasm", "Endocrine", "Genitourinary", "Nervous", "Pregnancy",
)
ADMISSION_TYPES = ("Emergency", "Urgent", "Elective")

MEDICAL_METADATA: dict[str, Any] = {
    "schema_version": 1,
    "source": "user",
    "public": True,
    "columns": {
        "patient_id": {"kind": "id"},
        # Adults only; 100 is the top-coding age used by many discharge data sets.
        "age": {"kind": "numerical", "dtype": "int", "lower": 18, "upper": 100,
                "nullable": False},
        "sex": {"kind": "categorical", "categories": ["F", "M"], "nullable": False,
                "sensitive": True},
        "admission_date": {"kind": "datetime", "format": "%Y-%m-%d", "lower": "2019-01-01",
                           "upper": "2023-12-31", "nullable": False},
        "admission_type": {"kind": "categorical", "categories": list(ADMISSION_TYPES),
                           "nullable": False},
        "diagnosis_group": {"kind": "categorical", "categories": list(DIAGNOSIS_GROUPS),
                            "nullable": False},
        # Range compatible with life in an admitted adult.
        "systolic_bp": {"kind": "numerical", "dtype": "int", "lower": 50, "upper": 260,
                        "nullable": False},
        # Typical reportable range of hospital glucose meters and chemistry analysers.
        "glucose": {"kind": "numerical", "dtype": "float", "precision": 1, "lower": 40,
                    "upper": 600, "nullable": True},
        "creatinine": {"kind": "numerical", "dtype": "float", "precision": 2, "lower": 0.2,
                       "upper": 15.0, "nullable": True},
        # Reportable range of common HbA1c assays.
        "hba1c": {"kind": "numerical", "dtype": "float", "precision": 1, "lower": 3.0,
                  "upper": 20.0, "nullable": True},
        "diabetic": {"kind": "boolean", "nullable": False},
        # One year is the longest stay the fictional hospital's abstract records.
        "length_of_stay": {"kind": "numerical", "dtype": "int", "lower": 1, "upper": 365,
                           "nullable": False},
        "readmitted_30d": {"kind": "boolean", "nullable": False},
    },
}

GRADES = ("A", "B", "C", "D", "E", "F", "G")
PURPOSES = (
    "debt_consolidation", "credit_card", "home_improvement", "other", "major_purchase",
    "medical", "small_business", "car", "vacation", "moving",
)
HOME_OWNERSHIP = ("RENT", "MORTGAGE", "OWN")
TERMS = (36, 60)

FINANCIAL_METADATA: dict[str, Any] = {
    "schema_version": 1,
    "source": "user",
    "public": True,
    "columns": {
        "loan_id": {"kind": "id"},
        "issue_date": {"kind": "datetime", "format": "%Y-%m-%d", "lower": "2016-01-01",
                       "upper": "2020-12-31", "nullable": False},
        # Stated income is non-negative; the application form caps it at $2,000,000.
        "annual_income": {"kind": "numerical", "dtype": "float", "precision": 0, "lower": 0,
                          "upper": 2000000, "nullable": True},
        # Years at current employer; 10 means "10 or more" (as on LendingClub listings).
        "employment_length": {"kind": "numerical", "dtype": "int", "lower": 0, "upper": 10,
                              "nullable": True},
        "home_ownership": {"kind": "categorical", "categories": list(HOME_OWNERSHIP),
                           "nullable": False},
        "purpose": {"kind": "categorical", "categories": list(PURPOSES), "nullable": False},
        # Product limits of the loan: $1,000 to $40,000 [LC-STATS].
        "loan_amount": {"kind": "numerical", "dtype": "int", "lower": 1000, "upper": 40000,
                        "nullable": False},
        # Two products, not a quantity: categorical with the integer categories 36 and 60.
        "term_months": {"kind": "categorical", "categories": list(TERMS), "nullable": False},
        "grade": {"kind": "categorical", "categories": list(GRADES), "nullable": False},
        # Published rate card spans 5.32-28.99 % plus term and market adjustments [LC-RATES].
        "interest_rate": {"kind": "numerical", "dtype": "float", "precision": 2, "lower": 5.0,
                          "upper": 31.0, "nullable": False},
        # Underwriting rule of the fictional lender: debt-to-income above 40 % is declined.
        "dti": {"kind": "numerical", "dtype": "float", "precision": 2, "lower": 0.0,
                "upper": 40.0, "nullable": False},
        # At most one new 30-day delinquency per month over 24 months.
        "delinquencies_2y": {"kind": "numerical", "dtype": "int", "lower": 0, "upper": 24,
                             "nullable": False},
        "defaulted": {"kind": "boolean", "nullable": False},
    },
}

# ============================================================================================
# Medical table: published statistics
# ============================================================================================

MEDICAL_START, MEDICAL_END = "2019-01-01", "2023-12-31"

# Adult stays by age band. [HCUP-FF] / [HCUP-180]: roughly 30 % of adult stays are aged 18-44
# (a third of them childbirth), about 40 % are 65+; shares re-based to adults and rounded.
AGE_BANDS = ((18, 44), (45, 64), (65, 84), (85, 100))
AGE_BAND_SHARES = (0.30, 0.28, 0.33, 0.09)
# Within 85-100 the density falls with age (survival); assumption: 14 % fewer per year.
OLDEST_BAND_DECAY = 0.86

# P(female | age band). [HCUP-180]: females are hospitalised more often, mostly via childbirth
# at 18-44; near parity at 45-84; women outnumber men past 85 (longevity). Rounded.
FEMALE_SHARE_BY_BAND = (0.66, 0.49, 0.52, 0.62)

# P(stay is for pregnancy/childbirth | female, age): [HCUP-180] 22 % of all stays are maternal
# or neonatal, roughly half of them maternal. Modelled as a bell around age 30 (assumption).
PREGNANCY_PEAK_PROB, PREGNANCY_PEAK_AGE, PREGNANCY_AGE_SD = 0.80, 30.0, 6.5
PREGNANCY_AGE_RANGE = (18, 44)

# Non-maternal principal-diagnosis mix by age band (shares of stays, CCSR body systems).
# Direction and rank order from [HCUP-277] and [HCUP-FF] (circulatory leads from 45; mental
# disorders and injuries are prominent in young adults; septicemia/infections and respiratory
# disease grow with age); the individual numbers are rounded assumptions.
DIAGNOSIS_WEIGHTS_BY_BAND: dict[str, tuple[float, float, float, float]] = {
    #                  18-44  45-64  65-84  85+
    "Circulatory":     (0.07, 0.20, 0.25, 0.26),
    "Respiratory":     (0.08, 0.09, 0.12, 0.14),
    "Digestive":       (0.14, 0.12, 0.10, 0.08),
    "Infectious":      (0.10, 0.11, 0.13, 0.17),
    "Musculoskeletal": (0.07, 0.12, 0.11, 0.04),
    "Injury":          (0.11, 0.06, 0.06, 0.12),
    "Mental":          (0.17, 0.07, 0.02, 0.01),
    "Neoplasm":        (0.04, 0.07, 0.06, 0.02),
    "Endocrine":       (0.08, 0.06, 0.04, 0.03),
    "Genitourinary":   (0.06, 0.04, 0.06, 0.08),
    "Nervous":         (0.08, 0.06, 0.05, 0.05),
}
# Winter peaks of respiratory infections (CDC FluView seasonality): multipliers on the
# diagnosis weight in December-February and June-August. Sizes are assumptions.
WINTER_MONTHS, SUMMER_MONTHS = (12, 1, 2), (6, 7, 8)
SEASONAL_MULTIPLIER = {"Respiratory": (1.6, 0.7), "Infectious": (1.2, 0.9)}

# P(Emergency, Urgent, Elective | diagnosis). Calibrated so that overall ~57 % of stays are
# emergency admissions [HCUP-1] and ~27 % elective [HCUP-79]; elective surgery dominates
# osteoarthritis (musculoskeletal) and cancer stays [HCUP-277]. Per-group numbers assumed.
ADMISSION_TYPE_PROBS: dict[str, tuple[float, float, float]] = {
    "Circulatory":     (0.60, 0.12, 0.28),
    "Respiratory":     (0.80, 0.12, 0.08),
    "Digestive":       (0.62, 0.15, 0.23),
    "Infectious":      (0.85, 0.12, 0.03),
    "Musculoskeletal": (0.22, 0.10, 0.68),
    "Injury":          (0.80, 0.12, 0.08),
    "Mental":          (0.65, 0.25, 0.10),
    "Neoplasm":        (0.30, 0.15, 0.55),
    "Endocrine":       (0.75, 0.15, 0.10),
    "Genitourinary":   (0.62, 0.15, 0.23),
    "Nervous":         (0.62, 0.15, 0.23),
    "Pregnancy":       (0.15, 0.35, 0.50),
}

# Diabetes: logistic in age, fitted by hand to [CDC-NDSR] (about 6 % at 20, ~25 % at 50,
# ~30 % at 65+ among inpatients, who are sicker than the population); +odds for endocrine
# (diabetes with complication is a top-5 diagnosis [HCUP-277]), circulatory and renal stays.
DIABETES_LOGIT = (-2.8, 0.07, -0.0006)  # intercept, per year over 18, per year^2
DIABETES_DIAG_LOGIT = {"Endocrine": 2.3, "Circulatory": 0.3, "Genitourinary": 0.3,
                       "Pregnancy": -0.5}

# Systolic blood pressure: mean 112 mmHg at 18 rising 0.4 mmHg/year [NHANES]; +4 for men
# under 60, +6 with diabetes, hypertensive circulatory stays higher, septic stays lower.
SBP_BASE, SBP_PER_YEAR, SBP_SD = 112.0, 0.40, 17.0
SBP_DIAG_SHIFT = {"Circulatory": 6.0, "Infectious": -10.0, "Pregnancy": -4.0, "Injury": 2.0}
SBP_GENERATION_RANGE = (60, 250)

# Admission glucose (random, not fasting): non-diabetic median a little above the fasting
# reference of 70-99 mg/dL [MAYO] (stress hyperglycaemia); diabetics much higher and wider.
GLUCOSE_MEDIAN = {False: 104.0, True: 160.0}
GLUCOSE_LOG_SD = {False: 0.17, True: 0.38}
GLUCOSE_DIAG_FACTOR = {"Infectious": 1.12, "Endocrine": 1.35, "Pregnancy": 0.90}

# Creatinine: medians inside the sex-specific reference ranges [MAYO]; rises ~0.6 %/year
# after 40 (falling GFR); higher in renal, septic, cardiac stays; lower in pregnancy
# (raised GFR). A chronic-kidney-disease tail is commoner with diabetes and age (assumed).
CREATININE_MEDIAN = {"F": 0.80, "M": 1.00}
CREATININE_AGE_SLOPE, CREATININE_LOG_SD = 0.006, 0.22
CREATININE_DIAG_FACTOR = {"Genitourinary": 1.6, "Infectious": 1.25, "Circulatory": 1.12,
                          "Pregnancy": 0.75}
CREATININE_DIABETES_FACTOR = 1.15
CKD_PROB = (0.04, 0.06, 0.003)  # base, + if diabetic, + per year over 18

# HbA1c: [ADA] defines diabetes as HbA1c >= 6.5 %, so in this table every non-diabetic value
# is <= 6.4 (values above are reflected back below the threshold). Diabetic inpatients
# centre near 8 % with a long right tail; worse when admitted for endocrine causes.
HBA1C_NONDIABETIC_MEAN, HBA1C_NONDIABETIC_SD, HBA1C_DIAGNOSTIC_CUTOFF = 5.45, 0.35, 6.5
HBA1C_DIABETIC_FLOOR, HBA1C_DIABETIC_MEDIAN_EXCESS, HBA1C_DIABETIC_LOG_SD = 5.6, 2.2, 0.5

# Length of stay: lognormal, ceiling to whole days. Intercept tuned so the mean is ~4.6 days
# and median 3 [HCUP-180: mean 4.5]; effects: +0.9 %/year of age, infections, psychiatric
# and cancer stays are long, childbirth short [HCUP-180, HCUP-277]; sizes assumed.
LOS_LOG_INTERCEPT, LOS_AGE_SLOPE, LOS_LOG_SD = 0.74, 0.009, 0.60
LOS_DIAG_EFFECT = {"Circulatory": 0.0, "Respiratory": 0.15, "Digestive": 0.0,
                   "Infectious": 0.45, "Musculoskeletal": -0.05, "Injury": 0.15,
                   "Mental": 0.55, "Neoplasm": 0.35, "Endocrine": -0.05,
                   "Genitourinary": -0.05, "Nervous": 0.10, "Pregnancy": -0.35}
LOS_TYPE_EFFECT = {"Emergency": 0.0, "Urgent": -0.05, "Elective": -0.20}
LOS_DIABETES_EFFECT, LOS_CAP = 0.08, 120

# 30-day readmission: logistic, intercept tuned to ~14 % overall [HCUP-248: 13.9 %]. Higher
# for cancer, heart failure, psychiatric, diabetes stays, lower for childbirth and elective
# joint surgery [HCUP-304]; effect sizes assumed.
READMIT_INTERCEPT, READMIT_AGE_SLOPE, READMIT_LOG_LOS = -2.40, 0.012, 0.30
READMIT_DIAG_EFFECT = {"Circulatory": 0.30, "Respiratory": 0.15, "Digestive": 0.05,
                       "Infectious": 0.20, "Musculoskeletal": -0.50, "Injury": -0.10,
                       "Mental": 0.35, "Neoplasm": 0.55, "Endocrine": 0.30,
                       "Genitourinary": 0.10, "Nervous": 0.0, "Pregnancy": -1.50}
READMIT_DIABETES, READMIT_ELECTIVE, READMIT_HIGH_CREATININE = 0.35, -0.35, 0.25

# Missingness (assumed mechanisms, documented in medical.md).
LAB_MCAR_RATE = 0.02  # lost or haemolysed specimens: pure chance, any lab
GLUCOSE_MISSING_LOGIT = (-3.6, 1.1, 0.7)  # intercept, + one-day stay, + age < 40
CREATININE_MISSING_LOGIT = (-3.4, 2.2, 1.0, 0.6)  # intercept, + elective, + urgent, + age<40
HBA1C_OBSERVED_LOGIT = (-2.2, 3.0, 1.5, 0.5)  # intercept, + diabetic, + endocrine, + LOS>=3

# ============================================================================================
# Financial table: published statistics
# ============================================================================================

# Share of loans issued per year, 2016-2020 [LC-10K]: growth to 2019, collapse in 2020.
ISSUE_YEAR_SHARES = {2016: 0.21, 2017: 0.22, 2018: 0.25, 2019: 0.26, 2020: 0.06}

# Borrower age is latent (not a column): drives income, tenure and home ownership.
BORROWER_AGE_MEAN, BORROWER_AGE_SD, BORROWER_AGE_RANGE = 42.0, 12.0, (21.0, 80.0)

# Stated income: lognormal, median $63,000, a little above the SCF family median of $58,600
# [SCF-2019] as online-loan borrowers are screened; log-sd 0.52. Rises with age to ~50.
INCOME_MEDIAN, INCOME_LOG_SD = 63000.0, 0.52
INCOME_AGE_LINEAR, INCOME_AGE_QUADRATIC = 0.18, -0.06  # per SD of latent age
INCOME_GENERATION_RANGE = (6000.0, 1500000.0)
# People state round incomes: share rounded to $1,000 and to $5,000 (assumption).
INCOME_HEAPING = {1000: 0.55, 5000: 0.25}
INCOME_MCAR_RATE = 0.03  # income not verified / not stated, pure chance

# Tenure at current employer: median about 1 + 0.3 x (age - 21) years [BLS-TEN: median 4.1,
# steeply rising with age], lognormal spread; top-coded at 10 ("10+ years").
TENURE_BASE, TENURE_PER_YEAR, TENURE_LOG_SD = 1.0, 0.30, 0.60
# Employment length missing ("n/a" on the listing) for applicants without an employer:
# outright owners (often retirees) and small-business owners (assumed, MAR).
EMPLOYMENT_MISSING_LOGIT = (-3.3, 1.3, 1.2)  # intercept, + OWN, + small_business

# Home ownership mix [LC-STATS]: RENT ~40 %, MORTGAGE ~49 %, OWN ~11 %; mortgage holders are
# older and richer, outright owners older (multinomial-logit coefficients assumed).
HOME_LOGIT = {"MORTGAGE": (0.35, 0.9, 0.8), "OWN": (-1.15, 0.9, 0.2)}  # const, age z, inc z

# Loan purpose shares [LC-STATS], and how home ownership shifts them (assumed).
PURPOSE_SHARES = {"debt_consolidation": 0.57, "credit_card": 0.22, "home_improvement": 0.065,
                  "other": 0.06, "major_purchase": 0.022, "medical": 0.012,
                  "small_business": 0.01, "car": 0.011, "vacation": 0.007, "moving": 0.007}
PURPOSE_HOME_FACTOR = {("home_improvement", "RENT"): 0.15, ("home_improvement", "MORTGAGE"): 1.6,
                       ("home_improvement", "OWN"): 1.6, ("moving", "RENT"): 2.0}

# Loan amount: lognormal, median ~$12,500, elasticity 0.55 to income; purpose shifts (small
# business and consolidation larger, vacation and medical smaller). Product range $1k-$40k
# [LC-STATS]; requests above the cap are cut to $40,000 (the real spike at the maximum).
LOAN_MEDIAN, LOAN_INCOME_ELASTICITY, LOAN_LOG_SD, LOAN_CREDIT_EFFECT = 12500.0, 0.55, 0.45, 0.15
LOAN_PURPOSE_EFFECT = {"debt_consolidation": 0.05, "credit_card": -0.10,
                       "home_improvement": 0.05, "other": -0.50, "major_purchase": -0.40,
                       "medical": -0.70, "small_business": 0.30, "car": -0.50,
                       "vacation": -0.90, "moving": -0.70}
LOAN_RANGE = (1000, 40000)
LOAN_HEAPING = {1000: 0.45, 500: 0.20}  # share rounded to $1,000 / $500, rest to $25

# Term: ~30 % of loans are 60-month [LC-STATS], more for large loans. Product rule of the
# fictional lender: the 60-month term is offered only for $10,000 or more.
TERM_LOGIT_INTERCEPT, TERM_LOGIT_PER_LOG_AMOUNT, TERM_PURPOSE_BONUS = -0.55, 1.6, 0.5
TERM60_MIN_AMOUNT = 10000

# Debt-to-income (%), logit-normal on (0, 40): median ~18 % [LC-STATS]; higher with weaker
# credit, lower income, and for debt consolidation (assumed sizes).
DTI_CAP, DTI_MEDIAN_SHARE, DTI_LOGIT_SD = 40.0, 0.45, 0.75
DTI_PURPOSE_EFFECT = {"debt_consolidation": 0.15, "credit_card": 0.10}

# Delinquencies in 2 years: Poisson with lognormal frailty; ~80 % zero [LC-STATS].
DELINQ_LOG_RATE, DELINQ_CREDIT_EFFECT, DELINQ_FRAILTY_SD = -1.9, -0.7, 0.6

# Grade mix [LC-STATS], cut from a latent risk score (credit quality, DTI, term, record).
# 60-month loans land in worse grades: LendingClub reported average rates of 11.4 % (36-month)
# vs 15.6 % (60-month) for one quarter [LC-STATS]; with the risk weight below (and a 1-point
# term premium in the rate) the gap in this table is about 3 points.
GRADE_SHARES = (0.19, 0.29, 0.28, 0.14, 0.065, 0.025, 0.01)
GRADE_TERM60_RISK = 0.9

# Sub-grade rate card [LC-RATES] (A1..G5, percent).
SUBGRADE_RATES = {
    "A": (5.32, 6.24, 6.89, 7.26, 7.89), "B": (8.18, 9.17, 9.99, 10.99, 11.53),
    "C": (12.29, 12.69, 13.33, 13.99, 14.65), "D": (15.61, 16.55, 16.99, 17.57, 17.86),
    "E": (18.25, 18.55, 19.19, 19.99, 20.99), "F": (21.99, 22.99, 23.99, 24.99, 25.78),
    "G": (26.77, 27.31, 27.88, 28.49, 28.99),
}
# Rate cards follow the market: half of the change in the fed funds rate since 2016 [H15].
FED_FUNDS_BY_YEAR = {2016: 0.40, 2017: 1.00, 2018: 1.83, 2019: 2.16, 2020: 0.38}
RATE_PASS_THROUGH, TERM60_RATE_PREMIUM, RATE_NOISE_SD = 0.5, 1.0, 0.12

# Lifetime charge-off probability by grade, rounded from LendingClub loan-book summaries
# [LC-STATS]. Within a grade, DTI, income, term and past delinquencies move the odds (effect
# sizes assumed); a per-grade intercept is solved so each grade's expected rate stays at the
# published figure despite those effects.
GRADE_DEFAULT_RATES = (0.06, 0.12, 0.19, 0.26, 0.33, 0.39, 0.45)
DEFAULT_DTI, DEFAULT_LOG_INCOME, DEFAULT_TERM60, DEFAULT_DELINQ = 0.03, -0.35, 0.25, 0.15

# ============================================================================================
# Small random helpers, built only on random() and standard_normal() for stable streams.
# ============================================================================================


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function; the planted dependencies are mostly logistic models."""
    return 1.0 / (1.0 + np.exp(-x))


def _bernoulli(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One coin per row with its own success probability."""
    return rng.random(len(p)) < p


def _choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Index drawn per row from row-wise probabilities (n, k) by inverse CDF.

    Written out instead of ``rng.choice`` so the draw depends only on ``random()``.
    """
    probs = np.asarray(probs, dtype=float)
    cdf = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    u = rng.random(cdf.shape[0])
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)


def _poisson(rng: np.random.Generator, lam: np.ndarray, cap: int) -> np.ndarray:
    """Poisson counts by inverse CDF, truncated at ``cap`` (rates here are small)."""
    u = rng.random(len(lam))
    k = np.zeros(len(lam), dtype=np.int64)
    pmf = np.exp(-lam)
    cdf = pmf.copy()
    for j in range(1, cap + 1):
        k += u > cdf
        pmf = pmf * lam / j
        cdf = cdf + pmf
    return k


def _uniform_dates(rng: np.random.Generator, start: str, end: str, n: int) -> pd.DatetimeIndex:
    """Days drawn uniformly from the closed interval [start, end]."""
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    n_days = (last - first).days + 1
    offsets = np.floor(rng.random(n) * n_days).astype(np.int64)
    return first + pd.to_timedelta(offsets, unit="D")


def _lookup(table: dict[str, float], keys: np.ndarray, default: float = 0.0) -> np.ndarray:
    """Map a column of category labels to per-category effects."""
    return np.array([table.get(k, default) for k in keys], dtype=float)


def _round_to(values: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Round each value to a multiple of its own step (for heaped amounts)."""
    return np.round(values / step) * step


# ============================================================================================
# Medical table
# ============================================================================================


def _medical_age(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages by band share, uniform within a band except a decaying density past 85."""
    ages = np.concatenate([np.arange(lo, hi + 1) for lo, hi in AGE_BANDS])
    weights = []
    for (lo, hi), share in zip(AGE_BANDS, AGE_BAND_SHARES, strict=True):
        span = np.arange(lo, hi + 1)
        w = OLDEST_BAND_DECAY ** (span - lo) if lo >= 85 else np.ones(len(span))
        weights.append(share * w / w.sum())
    probs = np.concatenate(weights)
    return ages[_choose(rng, np.broadcast_to(probs, (n, len(probs))))]


def _age_band(age: np.ndarray) -> np.ndarray:
    """Index of the AGE_BANDS entry each age falls in."""
    return np.searchsorted([hi for _, hi in AGE_BANDS], age)


def _medical_sex(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Sex with an age-dependent female share (childbirth, longevity)."""
    p_female = np.array(FEMALE_SHARE_BY_BAND)[_age_band(age)]
    return np.where(_bernoulli(rng, p_female), "F", "M")


def _medical_diagnosis(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, dates: pd.DatetimeIndex
) -> np.ndarray:
    """Principal diagnosis group: pregnancy for some young women, else an age/season mix."""
    groups = [g for g in DIAGNOSIS_GROUPS if g != "Pregnancy"]
    band = _age_band(age)
    weights = np.array([DIAGNOSIS_WEIGHTS_BY_BAND[g] for g in groups]).T[band]
    month = dates.month.to_numpy()
    winter, summer = np.isin(month, WINTER_MONTHS), np.isin(month, SUMMER_MONTHS)
    for group, (winter_mult, summer_mult) in SEASONAL_MULTIPLIER.items():
        j = groups.index(group)
        weights[:, j] *= np.where(winter, winter_mult, np.where(summer, summer_mult, 1.0))
    diagnosis = np.array(groups, dtype=object)[_choose(rng, weights)]

    lo, hi = PREGNANCY_AGE_RANGE
    z_age = (age - PREGNANCY_PEAK_AGE) / PREGNANCY_AGE_SD
    p_preg = PREGNANCY_PEAK_PROB * np.exp(-0.5 * z_age**2)
    p_preg = np.where((sex == "F") & (age >= lo) & (age <= hi), p_preg, 0.0)
    pregnant = _bernoulli(rng, p_preg)
    diagnosis[pregnant] = "Pregnancy"
    return diagnosis


def _medical_admission_type(rng: np.random.Generator, diagnosis: np.ndarray) -> np.ndarray:
    """Admission type given diagnosis (planned surgery vs. acute illness)."""
    probs = np.array([ADMISSION_TYPE_PROBS[d] for d in diagnosis])
    return np.array(ADMISSION_TYPES, dtype=object)[_choose(rng, probs)]


def _weekday_electives(dates: pd.DatetimeIndex, admission_type: np.ndarray) -> pd.DatetimeIndex:
    """Move elective admissions off weekends: planned admissions are booked Monday-Friday.

    Saturday/Sunday go forward to Monday, or back to Friday when Monday is past the range.
    """
    dow = dates.dayofweek.to_numpy()
    forward = np.select([dow == 5, dow == 6], [2, 1], 0)
    backward = np.select([dow == 5, dow == 6], [-1, -2], 0)
    moved = dates + pd.to_timedelta(forward, unit="D")
    too_late = moved > pd.Timestamp(MEDICAL_END)
    shift = np.where(too_late, backward, forward)
    shift = np.where(admission_type == "Elective", shift, 0)
    return dates + pd.to_timedelta(shift, unit="D")


def _medical_diabetic(
    rng: np.random.Generator, age: np.ndarray, diagnosis: np.ndarray
) -> np.ndarray:
    """Diabetes status: rises with age, far commoner in endocrine admissions."""
    b0, b1, b2 = DIABETES_LOGIT
    years = age - 18.0
    logit = b0 + b1 * years + b2 * years**2 + _lookup(DIABETES_DIAG_LOGIT, diagnosis)
    return _bernoulli(rng, _sigmoid(logit))


def _medical_sbp(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, diabetic: np.ndarray,
    diagnosis: np.ndarray,
) -> np.ndarray:
    """Systolic pressure on admission: age gradient, sex, diabetes and diagnosis shifts."""
    mean = (SBP_BASE + SBP_PER_YEAR * (age - 18) + 4.0 * ((sex == "M") & (age < 60))
            + 6.0 * diabetic + _lookup(SBP_DIAG_SHIFT, diagnosis))
    sd = np.where(diagnosis == "Infectious", SBP_SD * 1.2, SBP_SD)
    sbp = np.round(mean + sd * rng.standard_normal(len(age)))
    return np.clip(sbp, *SBP_GENERATION_RANGE).astype(np.int64)


def _medical_glucose(
    rng: np.random.Generator, diabetic: np.ndarray, diagnosis: np.ndarray
) -> np.ndarray:
    """Admission glucose (mg/dL): lognormal, much higher and wider with diabetes."""
    median = np.where(diabetic, GLUCOSE_MEDIAN[True], GLUCOSE_MEDIAN[False])
    log_sd = np.where(diabetic, GLUCOSE_LOG_SD[True], GLUCOSE_LOG_SD[False])
    factor = _lookup(GLUCOSE_DIAG_FACTOR, diagnosis, default=1.0)
    value = median * factor * np.exp(log_sd * rng.standard_normal(len(diabetic)))
    lo, hi = (MEDICAL_METADATA["columns"]["glucose"][k] for k in ("lower", "upper"))
    return np.clip(np.round(value, 1), lo, hi)


def _medical_creatinine(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, diabetic: np.ndarray,
    diagnosis: np.ndarray,
) -> np.ndarray:
    """Serum creatinine (mg/dL): sex, age, diagnosis, diabetes, and a CKD tail."""
    n = len(age)
    median = np.where(sex == "M", CREATININE_MEDIAN["M"], CREATININE_MEDIAN["F"])
    median = median * np.exp(CREATININE_AGE_SLOPE * np.maximum(age - 40, 0))
    median = median * _lookup(CREATININE_DIAG_FACTOR, diagnosis, default=1.0)
    median = median * np.where(diabetic, CREATININE_DIABETES_FACTOR, 1.0)
    value = median * np.exp(CREATININE_LOG_SD * rng.standard_normal(n))
    base, diab, per_year = CKD_PROB
    ckd = _bernoulli(rng, base + diab * diabetic + per_year * (age - 18))
    value = np.where(ckd, value * np.exp(0.7 + 0.5 * rng.standard_normal(n)), value)
    lo, hi = (MEDICAL_METADATA["columns"]["creatinine"][k] for k in ("lower", "upper"))
    return np.clip(np.round(value, 2), lo, hi)


def _medical_hba1c(
    rng: np.random.Generator, diabetic: np.ndarray, diagnosis: np.ndarray
) -> np.ndarray:
    """HbA1c (%): non-diabetics reflected below the 6.5 % diagnostic cut-off [ADA]."""
    n = len(diabetic)
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    normal = HBA1C_NONDIABETIC_MEAN + HBA1C_NONDIABETIC_SD * z1
    ceiling = HBA1C_DIAGNOSTIC_CUTOFF - 0.1
    normal = np.where(normal > ceiling, 2 * ceiling - normal, normal)
    excess = HBA1C_DIABETIC_MEDIAN_EXCESS * np.exp(HBA1C_DIABETIC_LOG_SD * z2)
    excess = excess + np.where(diagnosis == "Endocrine", 1.0, 0.0)
    value = np.where(diabetic, HBA1C_DIABETIC_FLOOR + excess, normal)
    return np.clip(np.round(value, 1), 4.0, 16.0)


def _medical_los(
    rng: np.random.Generator, age: np.ndarray, diagnosis: np.ndarray,
    admission_type: np.ndarray, diabetic: np.ndarray,
) -> np.ndarray:
    """Length of stay in whole days: right-skewed, longer when older or sicker."""
    mu = (LOS_LOG_INTERCEPT + LOS_AGE_SLOPE * (age - 18) + _lookup(LOS_DIAG_EFFECT, diagnosis)
          + _lookup(LOS_TYPE_EFFECT, admission_type) + LOS_DIABETES_EFFECT * diabetic)
    days = np.ceil(np.exp(mu + LOS_LOG_SD * rng.standard_normal(len(age))))
    return np.clip(days, 1, LOS_CAP).astype(np.int64)


def _medical_readmitted(
    rng: np.random.Generator, age: np.ndarray, los: np.ndarray, diabetic: np.ndarray,
    diagnosis: np.ndarray, admission_type: np.ndarray, creatinine: np.ndarray,
) -> np.ndarray:
    """30-day readmission: age, length of stay, diabetes, diagnosis, kidney function."""
    logit = (READMIT_INTERCEPT + READMIT_AGE_SLOPE * (age - 60) + READMIT_LOG_LOS * np.log(los)
             + READMIT_DIABETES * diabetic + _lookup(READMIT_DIAG_EFFECT, diagnosis)
             + READMIT_ELECTIVE * (admission_type == "Elective")
             + READMIT_HIGH_CREATININE * (creatinine > 1.5))
    return _bernoulli(rng, _sigmoid(logit))


def _medical_missing_masks(
    rng: np.random.Generator, age: np.ndarray, los: np.ndarray, diabetic: np.ndarray,
    diagnosis: np.ndarray, admission_type: np.ndarray,
) -> dict[str, np.ndarray]:
    """Which lab values are missing: a chance part (MCAR) plus care-pathway parts (MAR)."""
    n = len(age)
    young = age < 40
    g0, g_short, g_young = GLUCOSE_MISSING_LOGIT
    glucose = _sigmoid(g0 + g_short * (los == 1) + g_young * young)
    c0, c_elective, c_urgent, c_young = CREATININE_MISSING_LOGIT
    creatinine = _sigmoid(c0 + c_elective * (admission_type == "Elective")
                          + c_urgent * (admission_type == "Urgent") + c_young * young)
    h0, h_diab, h_endo, h_long = HBA1C_OBSERVED_LOGIT
    hba1c = 1.0 - _sigmoid(h0 + h_diab * diabetic + h_endo * (diagnosis == "Endocrine")
                           + h_long * (los >= 3))
    masks = {}
    for name, p in (("glucose", glucose), ("creatinine", creatinine), ("hba1c", hba1c)):
        mar = _bernoulli(rng, p)
        mcar = rng.random(n) < LAB_MCAR_RATE
        masks[name] = mar | mcar
    return masks


def _patient_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique ids "P" + 6 digits, unrelated to any other column."""
    order = np.argsort(rng.random(999_999), kind="stable")[:n] + 1
    return np.array([f"P{k:06d}" for k in order], dtype=object)


def make_medical(seed: int = MEDICAL_SEED, n: int = N_ROWS) -> pd.DataFrame:
    """Build the hospital-admissions table (one row per admission, sorted by date)."""
    rng = np.random.default_rng(seed)
    age = _medical_age(rng, n)
    sex = _medical_sex(rng, age)
    dates = _uniform_dates(rng, MEDICAL_START, MEDICAL_END, n)
    diagnosis = _medical_diagnosis(rng, age, sex, dates)
    admission_type = _medical_admission_type(rng, diagnosis)
    dates = _weekday_electives(dates, admission_type)
    diabetic = _medical_diabetic(rng, age, diagnosis)
    sbp = _medical_sbp(rng, age, sex, diabetic, diagnosis)
    glucose = _medical_glucose(rng, diabetic, diagnosis)
    creatinine = _medical_creatinine(rng, age, sex, diabetic, diagnosis)
    hba1c = _medical_hba1c(rng, diabetic, diagnosis)
    los = _medical_los(rng, age, diagnosis, admission_type, diabetic)
    readmitted = _medical_readmitted(rng, age, los, diabetic, diagnosis, admission_type,
                                     creatinine)
    masks = _medical_missing_masks(rng, age, los, diabetic, diagnosis, admission_type)
    frame = pd.DataFrame({
        "patient_id": _patient_ids(rng, n),
        "age": age.astype(np.int64),
        "sex": sex,
        "admission_date": dates,
        "admission_type": admission_type,
        "diagnosis_group": diagnosis,
        "systolic_bp": sbp,
        "glucose": np.where(masks["glucose"], np.nan, glucose),
        "creatinine": np.where(masks["creatinine"], np.nan, creatinine),
        "hba1c": np.where(masks["hba1c"], np.nan, hba1c),
        "diabetic": diabetic,
        "length_of_stay": los,
        "readmitted_30d": readmitted,
    })
    return _sort_rows(frame, "admission_date", "patient_id")


# ============================================================================================
# Financial table
# ============================================================================================


def _issue_dates(rng: np.random.Generator, n: int) -> pd.DatetimeIndex:
    """Issue dates: year by origination share, then a uniform day within the year."""
    years = np.array(list(ISSUE_YEAR_SHARES))
    shares = np.array(list(ISSUE_YEAR_SHARES.values()))
    year = years[_choose(rng, np.broadcast_to(shares, (n, len(shares))))]
    start = pd.to_datetime([f"{y}-01-01" for y in year])
    n_days = np.where((year % 4 == 0), 366, 365)
    offsets = np.floor(rng.random(n) * n_days).astype(np.int64)
    return start + pd.to_timedelta(offsets, unit="D")


def _borrower_latents(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Unobserved drivers: borrower age, an income shock, and credit quality (z-scores)."""
    lo, hi = BORROWER_AGE_RANGE
    age = np.clip(BORROWER_AGE_MEAN + BORROWER_AGE_SD * rng.standard_normal(n), lo, hi)
    z_age = (age - BORROWER_AGE_MEAN) / BORROWER_AGE_SD
    z_income = rng.standard_normal(n)
    credit = 0.30 * z_age + 0.20 * z_income + np.sqrt(1 - 0.13) * rng.standard_normal(n)
    return {"age": age, "z_age": z_age, "z_income": z_income, "credit": credit}


def _true_income(rng: np.random.Generator, z_age: np.ndarray, z_income: np.ndarray) -> np.ndarray:
    """Stated income: lognormal with an age profile, heaped at round thousands."""
    log_income = (np.log(INCOME_MEDIAN) + INCOME_AGE_LINEAR * z_age
                  + INCOME_AGE_QUADRATIC * z_age**2 + INCOME_LOG_SD * z_income)
    income = np.clip(np.exp(log_income), *INCOME_GENERATION_RANGE)
    u = rng.random(len(income))
    step = np.where(u < INCOME_HEAPING[1000], 1000.0,
                    np.where(u < INCOME_HEAPING[1000] + INCOME_HEAPING[5000], 5000.0, 1.0))
    return _round_to(income, step)


def _employment_length(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Whole years with the current employer, top-coded at 10."""
    median = TENURE_BASE + TENURE_PER_YEAR * (age - BORROWER_AGE_RANGE[0])
    tenure = median * np.exp(TENURE_LOG_SD * rng.standard_normal(len(age)))
    return np.minimum(np.floor(tenure), 10).astype(np.int64)


def _home_ownership(
    rng: np.random.Generator, z_age: np.ndarray, log_income: np.ndarray
) -> np.ndarray:
    """RENT / MORTGAGE / OWN: multinomial logit in age and income."""
    z_inc = (log_income - np.log(INCOME_MEDIAN)) / INCOME_LOG_SD
    logits = [np.zeros(len(z_age))]
    for key in ("MORTGAGE", "OWN"):
        c, b_age, b_inc = HOME_LOGIT[key]
        logits.append(c + b_age * z_age + b_inc * z_inc)
    probs = np.exp(np.column_stack(logits))
    return np.array(HOME_OWNERSHIP, dtype=object)[_choose(rng, probs)]


def _purpose(rng: np.random.Generator, home: np.ndarray) -> np.ndarray:
    """Loan purpose from the published mix, shifted by home ownership."""
    base = np.array([PURPOSE_SHARES[p] for p in PURPOSES])
    probs = np.tile(base, (len(home), 1))
    for (purpose, tenure), factor in PURPOSE_HOME_FACTOR.items():
        probs[home == tenure, PURPOSES.index(purpose)] *= factor
    return np.array(PURPOSES, dtype=object)[_choose(rng, probs)]


def _loan_amount(
    rng: np.random.Generator, log_income: np.ndarray, purpose: np.ndarray, credit: np.ndarray
) -> np.ndarray:
    """Requested amount: scales with income, heaped at round numbers, capped at $40,000."""
    n = len(purpose)
    income_gap = log_income - np.log(INCOME_MEDIAN)
    log_amount = (np.log(LOAN_MEDIAN) + LOAN_INCOME_ELASTICITY * income_gap
                  + _lookup(LOAN_PURPOSE_EFFECT, purpose) + LOAN_CREDIT_EFFECT * credit
                  + LOAN_LOG_SD * rng.standard_normal(n))
    u = rng.random(n)
    step = np.where(u < LOAN_HEAPING[1000], 1000.0,
                    np.where(u < LOAN_HEAPING[1000] + LOAN_HEAPING[500], 500.0, 25.0))
    amount = _round_to(np.exp(log_amount), step)
    return np.clip(amount, *LOAN_RANGE).astype(np.int64)


def _term(rng: np.random.Generator, amount: np.ndarray, purpose: np.ndarray) -> np.ndarray:
    """36 or 60 months; long terms for big loans, never below the 60-month minimum."""
    bonus = np.isin(purpose, ("home_improvement", "small_business")) * TERM_PURPOSE_BONUS
    size = np.log(amount) - np.log(LOAN_MEDIAN)
    logit = TERM_LOGIT_INTERCEPT + TERM_LOGIT_PER_LOG_AMOUNT * size + bonus
    long_term = _bernoulli(rng, _sigmoid(logit)) & (amount >= TERM60_MIN_AMOUNT)
    return np.where(long_term, 60, 36).astype(np.int64)


def _dti(
    rng: np.random.Generator, credit: np.ndarray, log_income: np.ndarray, purpose: np.ndarray
) -> np.ndarray:
    """Debt-to-income in percent, strictly inside (0, 40)."""
    z_inc = (log_income - np.log(INCOME_MEDIAN)) / INCOME_LOG_SD
    mu = (np.log(DTI_MEDIAN_SHARE / (1 - DTI_MEDIAN_SHARE)) - 0.20 * credit - 0.15 * z_inc
          + _lookup(DTI_PURPOSE_EFFECT, purpose, default=-0.10))
    share = _sigmoid(mu + DTI_LOGIT_SD * rng.standard_normal(len(credit)))
    return np.round(DTI_CAP * share, 2)


def _delinquencies(rng: np.random.Generator, credit: np.ndarray) -> np.ndarray:
    """30-day delinquencies in the last two years: overdispersed counts, mostly zero."""
    frailty = np.exp(DELINQ_FRAILTY_SD * rng.standard_normal(len(credit)))
    lam = np.exp(DELINQ_LOG_RATE + DELINQ_CREDIT_EFFECT * credit) * frailty
    cap = FINANCIAL_METADATA["columns"]["delinquencies_2y"]["upper"]
    return _poisson(rng, lam, cap)


def _grade_and_subgrade(
    rng: np.random.Generator, credit: np.ndarray, dti: np.ndarray, term: np.ndarray,
    delinq: np.ndarray, amount: np.ndarray, log_income: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Grade A-G and sub-grade 0-4 by quantiles of a latent risk score."""
    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / x.std()

    risk = (-credit + 0.20 * z(dti) + GRADE_TERM60_RISK * (term == 60)
            + 0.20 * np.minimum(delinq, 3) + 0.20 * z(np.log(amount) - log_income)
            + 0.35 * rng.standard_normal(len(credit)))
    rank = np.argsort(np.argsort(risk, kind="stable"), kind="stable") / len(risk)
    edges = np.cumsum(GRADE_SHARES)[:-1]
    grade_idx = np.searchsorted(edges, rank, side="right")
    lower = np.concatenate([[0.0], edges])[grade_idx]
    upper = np.concatenate([edges, [1.0]])[grade_idx]
    sub = np.minimum(np.floor(5 * (rank - lower) / (upper - lower)), 4).astype(np.int64)
    return np.array(GRADES, dtype=object)[grade_idx], sub


def _interest_rate(
    rng: np.random.Generator, grade: np.ndarray, sub: np.ndarray, term: np.ndarray,
    year: np.ndarray,
) -> np.ndarray:
    """Rate card by sub-grade, a 60-month premium, and the market level of the year."""
    card = np.array([SUBGRADE_RATES[g][s] for g, s in zip(grade, sub, strict=True)])
    fed_funds = np.array([FED_FUNDS_BY_YEAR[int(y)] for y in year])
    market = RATE_PASS_THROUGH * (fed_funds - FED_FUNDS_BY_YEAR[2016])
    rate = (card + market + TERM60_RATE_PREMIUM * (term == 60)
            + RATE_NOISE_SD * rng.standard_normal(len(card)))
    lo, hi = (FINANCIAL_METADATA["columns"]["interest_rate"][k] for k in ("lower", "upper"))
    return np.clip(np.round(rate, 2), lo, hi)


def _solve_intercept(effects: np.ndarray, target: float) -> float:
    """Intercept c with mean(sigmoid(c + effects)) == target, by bisection (no randomness)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _sigmoid(mid + effects).mean() < target else (lo, mid)
    return 0.5 * (lo + hi)


def _defaulted(
    rng: np.random.Generator, grade: np.ndarray, dti: np.ndarray, log_income: np.ndarray,
    term: np.ndarray, delinq: np.ndarray,
) -> np.ndarray:
    """Charged off over the life of the loan: grade first, then DTI, income, term, record."""
    effects = (DEFAULT_DTI * (dti - 18)
               + DEFAULT_LOG_INCOME * (log_income - np.log(INCOME_MEDIAN))
               + DEFAULT_TERM60 * (term == 60) + DEFAULT_DELINQ * np.minimum(delinq, 3))
    logit = np.empty(len(grade))
    for g, target in zip(GRADES, GRADE_DEFAULT_RATES, strict=True):
        rows = grade == g
        logit[rows] = _solve_intercept(effects[rows], target) + effects[rows]
    return _bernoulli(rng, _sigmoid(logit))


def _loan_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Increasing ids "L" + 7 digits with random gaps (ids grow with issue date)."""
    gaps = 1 + np.floor(rng.random(n) * 40).astype(np.int64)
    return np.array([f"L{k:07d}" for k in 1_000_000 + np.cumsum(gaps)], dtype=object)


def make_financial(seed: int = FINANCIAL_SEED, n: int = N_ROWS) -> pd.DataFrame:
    """Build the consumer-loan table (one row per issued loan, sorted by issue date)."""
    rng = np.random.default_rng(seed)
    issue = _issue_dates(rng, n)
    lat = _borrower_latents(rng, n)
    income = _true_income(rng, lat["z_age"], lat["z_income"])
    log_income = np.log(income)
    employment = _employment_length(rng, lat["age"])
    home = _home_ownership(rng, lat["z_age"], log_income)
    purpose = _purpose(rng, home)
    amount = _loan_amount(rng, log_income, purpose, lat["credit"])
    term = _term(rng, amount, purpose)
    dti = _dti(rng, lat["credit"], log_income, purpose)
    delinq = _delinquencies(rng, lat["credit"])
    grade, sub = _grade_and_subgrade(rng, lat["credit"], dti, term, delinq, amount, log_income)
    rate = _interest_rate(rng, grade, sub, term, issue.year.to_numpy())
    defaulted = _defaulted(rng, grade, dti, log_income, term, delinq)

    e0, e_own, e_business = EMPLOYMENT_MISSING_LOGIT
    emp_missing = _bernoulli(rng, _sigmoid(e0 + e_own * (home == "OWN")
                                           + e_business * (purpose == "small_business")))
    income_missing = rng.random(n) < INCOME_MCAR_RATE
    frame = pd.DataFrame({
        "loan_id": np.empty(n, dtype=object),
        "issue_date": issue,
        "annual_income": np.where(income_missing, np.nan, income),
        "employment_length": np.where(emp_missing, np.nan, employment.astype(float)),
        "home_ownership": home,
        "purpose": purpose,
        "loan_amount": amount,
        "term_months": term,
        "grade": grade,
        "interest_rate": rate,
        "dti": dti,
        "delinquencies_2y": delinq,
        "defaulted": defaulted,
    })
    frame = _sort_rows(frame, "issue_date")
    frame["loan_id"] = _loan_ids(rng, n)
    return frame


# ============================================================================================
# Writing
# ============================================================================================


def _sort_rows(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    """Stable sort so the file reads like an export ordered by date."""
    return frame.sort_values(list(keys), kind="mergesort").reset_index(drop=True)


def check_domain(frame: pd.DataFrame, metadata: dict[str, Any]) -> None:
    """Refuse to write a table that breaks its own declared public domain."""
    columns = metadata["columns"]
    if list(frame.columns) != list(columns):
        raise ValueError(f"columns {list(frame.columns)} differ from metadata {list(columns)}")
    for name, spec in columns.items():
        values = frame[name]
        if not spec.get("nullable", True) and values.isna().any():
            raise ValueError(f"{name}: missing values in a non-nullable column")
        present = values.dropna()
        if spec["kind"] == "categorical" and not present.isin(spec["categories"]).all():
            raise ValueError(f"{name}: value outside the declared categories")
        if spec["kind"] in ("numerical", "datetime"):
            lo, hi = spec["lower"], spec["upper"]
            if spec["kind"] == "datetime":
                lo, hi = pd.Timestamp(lo), pd.Timestamp(hi)
            if ((present < lo) | (present > hi)).any():
                raise ValueError(f"{name}: value outside [{lo}, {hi}]")
        if spec["kind"] == "id" and values.duplicated().any():
            raise ValueError(f"{name}: duplicate ids")


def _format_column(values: pd.Series, spec: dict[str, Any]) -> list[str]:
    """Text of one column, formatted here so bytes never depend on pandas' float printer."""
    kind = spec["kind"]
    if kind == "datetime":
        return [v.strftime(spec["format"]) for v in values]
    if kind == "boolean":
        return ["True" if v else "False" for v in values]
    if kind == "numerical" and spec["dtype"] == "float":
        fmt = f"{{:.{spec['precision']}f}}"
        return ["" if pd.isna(v) else fmt.format(v) for v in values]
    if kind == "numerical":
        return ["" if pd.isna(v) else str(int(v)) for v in values]
    return ["" if pd.isna(v) else str(v) for v in values]


def write_csv(frame: pd.DataFrame, metadata: dict[str, Any], path: Path) -> None:
    """Write the table as UTF-8 CSV with '\\n' line ends and empty fields for missing."""
    check_domain(frame, metadata)
    columns = metadata["columns"]
    text_columns = [_format_column(frame[name], spec) for name, spec in columns.items()]
    lines = [",".join(columns)]
    lines += [",".join(row) for row in zip(*text_columns, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")


def write_metadata(metadata: dict[str, Any], path: Path) -> None:
    """Write metadata JSON with one line per column, in CSV column order."""
    head = {k: v for k, v in metadata.items() if k != "columns"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "columns": {')
    items = list(metadata["columns"].items())
    for i, (name, spec) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(spec)}{comma}")
    lines += ["  }", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")


SAMPLES = {
    "medical": (make_medical, MEDICAL_METADATA),
    "financial": (make_financial, FINANCIAL_METADATA),
}


def write_samples(out_dir: Path = HERE) -> list[Path]:
    """Generate every sample into ``out_dir``; return the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (make, metadata) in SAMPLES.items():
        csv_path = out_dir / f"{name}.csv"
        json_path = out_dir / f"{name}.metadata.json"
        write_csv(make(), metadata, csv_path)
        write_metadata(metadata, json_path)
        written += [csv_path, json_path]
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point: optional single argument is the output folder (default: beside me)."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else HERE
    for path in write_samples(out_dir):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
