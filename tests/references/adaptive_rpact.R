# Reference values for trialplan's adaptive designs (tests/test_adaptive_rpact.py),
# computed with rpact 3.3.4 (R 4).  Run from this directory:
#     Rscript adaptive_rpact.R
# It writes adaptive_rpact.csv in long format:
#     case, quantity, stage, value, mcse, n_sims
# `mcse` is the Monte Carlo standard error of simulated quantities (NA when exact),
# `n_sims` the number of simulated trials (NA when exact).
suppressPackageStartupMessages(library(rpact))
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")
rows <- list()
add <- function(case, quantity, value, stage = NA, mcse = NA, n_sims = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, quantity = quantity, stage = stage, value = value, mcse = mcse,
    n_sims = n_sims, stringsAsFactors = FALSE)
}
add_vector <- function(case, quantity, values, mcse = NA, n_sims = NA) {
  for (k in seq_along(values)) add(case, quantity, values[k], k,
                                   if (length(mcse) > 1) mcse[k] else mcse, n_sims)
}

# ---------------------------------------------------------------- designs
d <- getDesignInverseNormal(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1),
                            typeOfDesign = "asOF")
add_vector("inverse_normal_of_2", "critical_value", d$criticalValues)
d <- getDesignInverseNormal(kMax = 3, alpha = 0.025, informationRates = c(0.3, 0.6, 1),
                            typeOfDesign = "asP")
add_vector("inverse_normal_pocock_3", "critical_value", d$criticalValues)
d <- getDesignInverseNormal(kMax = 2, alpha = 0.025, informationRates = c(0.6, 1),
                            typeOfDesign = "asOF")
add_vector("inverse_normal_of_60", "critical_value", d$criticalValues)

fisher <- list(
  fisher_equal_2 = getDesignFisher(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1)),
  fisher_equal_2_unequal = getDesignFisher(kMax = 2, alpha = 0.025, informationRates = c(0.25, 1)),
  fisher_equal_3 = getDesignFisher(kMax = 3, alpha = 0.025, informationRates = c(1/3, 2/3, 1)),
  fisher_equal_3_binding = getDesignFisher(kMax = 3, alpha = 0.025, informationRates = c(0.2, 0.5, 1),
                                           alpha0Vec = c(0.5, 0.4), bindingFutility = TRUE),
  fisher_no_interaction_3 = getDesignFisher(kMax = 3, alpha = 0.025, method = "noInteraction",
                                            informationRates = c(0.2, 0.5, 1),
                                            alpha0Vec = c(0.5, 0.4), bindingFutility = TRUE),
  fisher_user_3 = getDesignFisher(kMax = 3, alpha = 0.025, method = "userDefinedAlpha",
                                  userAlphaSpending = c(0.005, 0.015, 0.025),
                                  informationRates = c(0.3, 0.6, 1)),
  fisher_equal_4 = getDesignFisher(kMax = 4, alpha = 0.025, informationRates = c(0.25, 0.5, 0.75, 1))
)
for (name in names(fisher)) {
  add_vector(name, "critical_value", fisher[[name]]$criticalValues)
  add_vector(name, "alpha_spent", fisher[[name]]$alphaSpent)
}

# ------------------------------------------------------- conditional power
# Inverse normal, 3 stages; stage-wise z from a two-sample t test on stage 1.
d <- getDesignInverseNormal(kMax = 3, alpha = 0.025, informationRates = c(1/3, 2/3, 1),
                            typeOfDesign = "asOF")
data <- getDataset(n1 = 20, n2 = 20, means1 = 1.2, means2 = 0.3, stDevs1 = 1.1, stDevs2 = 1.0)
sr <- getStageResults(d, data)
add("cp_inverse_normal_3", "stage_z", qnorm(1 - sr$pValues[1]), 1)
cp <- getConditionalPower(sr, nPlanned = c(40, 60), thetaH1 = 0.6, assumedStDev = 1.05)
add_vector("cp_inverse_normal_3", "conditional_power", cp$conditionalPower)
# Two stages observed
data2 <- getDataset(n1 = c(20, 22), n2 = c(20, 21), means1 = c(1.2, 0.5), means2 = c(0.3, 0.4),
                    stDevs1 = c(1.1, 1.2), stDevs2 = c(1.0, 0.9))
sr2 <- getStageResults(d, data2)
add_vector("cp_inverse_normal_3b", "stage_z", qnorm(1 - sr2$pValues[1:2]))
cp2 <- getConditionalPower(sr2, nPlanned = 50, thetaH1 = 0.4, assumedStDev = 1)
add_vector("cp_inverse_normal_3b", "conditional_power", cp2$conditionalPower)
# Fisher, 2 stages
df2 <- getDesignFisher(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1))
sr3 <- getStageResults(df2, data)
add("cp_fisher_2", "stage_z", qnorm(1 - sr3$pValues[1]), 1)
cp3 <- getConditionalPower(sr3, nPlanned = 60, thetaH1 = 0.5, assumedStDev = 1)
add_vector("cp_fisher_2", "conditional_power", cp3$conditionalPower)

# -------------------------------------------- simulation with re-estimation
# Expected N's MCSE from the per-trial totals at stopping.
final_n <- function(sim) {
  raw <- getData(sim)
  last <- raw[!duplicated(paste(raw$iterationNumber, raw[[2]]), fromLast = TRUE), ]
  last
}
ssr_means <- function(case, design, ..., iterations = 200000, seed = 20260101) {
  s <- getSimulationMeans(design, groups = 2, seed = seed,
                          maxNumberOfIterations = iterations, ...)
  raw <- getData(s)
  for (i in seq_along(s$alternative)) {
    sub <- raw[raw$alternative == s$alternative[i], ]
    last <- sub[!duplicated(sub$iterationNumber, fromLast = TRUE), ]
    n <- last$numberOfCumulatedSubjects
    label <- paste0(case, "_alt", i)
    add(label, "alternative", s$alternative[i])
    p <- s$overallReject[i]
    add(label, "power", p, NA, sqrt(p * (1 - p) / iterations), iterations)
    add(label, "expected_n", mean(n), NA, sd(n) / sqrt(iterations), iterations)
    rej <- s$rejectPerStage[, i]
    add_vector(label, "reject_per_stage", rej, sqrt(rej * (1 - rej) / iterations), iterations)
    add(label, "mean_stage_2_size", s$sampleSizes[2, i], 2, NA, iterations)
    add(label, "conditional_power_achieved", s$conditionalPowerAchieved[2, i], 2, NA, iterations)
  }
}
d2 <- getDesignInverseNormal(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1),
                             typeOfDesign = "asOF")
# rpact's rule: stage-2 size for 90% conditional power at the observed effect, between 1 and
# 2 times the planned 60; two arms, sd 8; alternatives: no effect and a 4-point gain.
# normalApproximation = TRUE (rpact's default): z tests with the SD known.
ssr_means("ssr_means_observed", d2, alternative = c(0, 4), stDev = 8,
          normalApproximation = TRUE,
          plannedSubjects = c(60, 120), minNumberOfSubjectsPerStage = c(NA, 60),
          maxNumberOfSubjectsPerStage = c(NA, 120), conditionalPower = 0.9)
# At the planning effect 4 and sd 8, 80% conditional power, between 0.5 and 3 times.
ssr_means("ssr_means_planned", d2, alternative = c(0, 3), stDev = 8, thetaH1 = 4, stDevH1 = 8,
          normalApproximation = TRUE,
          plannedSubjects = c(60, 120), minNumberOfSubjectsPerStage = c(NA, 30),
          maxNumberOfSubjectsPerStage = c(NA, 180), conditionalPower = 0.8)
# The same with t tests (stage-wise t, df = n_k - 2, turned into z through its p-value).
ssr_means("ssr_means_t", d2, alternative = c(0, 4), stDev = 8, normalApproximation = FALSE,
          plannedSubjects = c(60, 120), minNumberOfSubjectsPerStage = c(NA, 60),
          maxNumberOfSubjectsPerStage = c(NA, 120), conditionalPower = 0.9)
# Three stages, Pocock-type spending, sizes re-estimated at both interims.
d3 <- getDesignInverseNormal(kMax = 3, alpha = 0.025, informationRates = c(1/3, 2/3, 1),
                             typeOfDesign = "asP")
ssr_means("ssr_means_3", d3, alternative = c(0, 3), stDev = 8, normalApproximation = TRUE,
          plannedSubjects = c(60, 120, 180), minNumberOfSubjectsPerStage = c(NA, 60, 60),
          maxNumberOfSubjectsPerStage = c(NA, 150, 150), conditionalPower = 0.9)
# Fisher's product test, 2 stages.
ssr_means("ssr_means_fisher", df2, alternative = c(0, 4), stDev = 8, normalApproximation = TRUE,
          plannedSubjects = c(60, 120), minNumberOfSubjectsPerStage = c(NA, 60),
          maxNumberOfSubjectsPerStage = c(NA, 120), conditionalPower = 0.9)
# The naive analysis: rpact's simulation with a group-sequential design combines the
# stages with the observed sizes (no CHW weights).
dg <- getDesignGroupSequential(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1),
                               typeOfDesign = "asOF")
ssr_means("ssr_means_naive", dg, alternative = 0, stDev = 8, normalApproximation = TRUE,
          plannedSubjects = c(60, 120), minNumberOfSubjectsPerStage = c(NA, 60),
          maxNumberOfSubjectsPerStage = c(NA, 240), conditionalPower = 0.9)
# The rTMS x MBI example (docs/adaptive.md): interaction IC = -3 (sd 8) with n per cell is a
# two-sample comparison with n/2 per arm (Var = 4 sd^2 / n either way); 60% of the
# information at the interim; z tests (known sd) as the factorial's df are large.
d60 <- getDesignInverseNormal(kMax = 2, alpha = 0.025, informationRates = c(0.6, 1),
                              typeOfDesign = "asOF")
s <- getSimulationMeans(d60, groups = 2, normalApproximation = TRUE, alternative = c(0, 3),
                        stDev = 8, plannedSubjects = c(90, 150),
                        minNumberOfSubjectsPerStage = c(NA, 60),
                        maxNumberOfSubjectsPerStage = c(NA, 180), conditionalPower = 0.9,
                        maxNumberOfIterations = 200000, seed = 20260101)
raw <- getData(s)
for (i in seq_along(s$alternative)) {
  sub <- raw[raw$alternative == s$alternative[i], ]
  last <- sub[!duplicated(sub$iterationNumber, fromLast = TRUE), ]
  n <- last$numberOfCumulatedSubjects
  label <- paste0("ssr_rtms_mbi_alt", i)
  add(label, "alternative", s$alternative[i])
  p <- s$overallReject[i]
  add(label, "power", p, NA, sqrt(p * (1 - p) / 200000), 200000)
  add(label, "expected_n", mean(n), NA, sd(n) / sqrt(200000), 200000)
  rej <- s$rejectPerStage[, i]
  add_vector(label, "reject_per_stage", rej, sqrt(rej * (1 - rej) / 200000), 200000)
  add(label, "mean_stage_2_size", s$sampleSizes[2, i], 2, NA, 200000)
}

# ----------------------------------------------------------- binary outcome
# Two arms, 150 per arm planned, response 30% (control) and 45% (treatment); stage 2 between
# 1 and 2 times the planned 150 total.  calcSubjectsFunction applies trialplan's canonical
# rule (the stage-1 z statistic, recovered from the conditional critical value, as the
# observed drift; stage sizes rounded up per arm); rpact's rates test is the pooled-variance
# z (Farrington-Manning at thetaH0 = 0), trialplan's statistic="pooled".
canonical_rates <- function(stage, conditionalPower, conditionalCriticalValue,
                            plannedSubjects, minNumberOfSubjectsPerStage,
                            maxNumberOfSubjectsPerStage, ...) {
  b2 <- d2$criticalValues[2]
  z1 <- (b2 * sqrt(1) - conditionalCriticalValue * sqrt(0.5)) / sqrt(0.5)
  drift <- z1 / sqrt(0.5)  # observed drift at the planned total
  need <- max(0, conditionalCriticalValue + qnorm(conditionalPower))
  f <- if (drift > 0) (need / drift)^2 else Inf
  f <- min(max(f, 0.5), 1.0)  # [1, 2] x the planned half
  2 * ceiling(f * 300 / 2 - 1e-9)
}
s <- getSimulationRates(d2, pi1 = c(0.3, 0.45), pi2 = 0.3, plannedSubjects = c(150, 300),
                        minNumberOfSubjectsPerStage = c(NA, 150),
                        maxNumberOfSubjectsPerStage = c(NA, 300), conditionalPower = 0.9,
                        calcSubjectsFunction = canonical_rates,
                        maxNumberOfIterations = 100000, seed = 20260101)
raw <- getData(s)
for (i in seq_along(s$pi1)) {
  sub <- raw[raw$pi1 == s$pi1[i], ]
  last <- sub[!duplicated(sub$iterationNumber, fromLast = TRUE), ]
  n <- last$numberOfCumulatedSubjects
  label <- paste0("ssr_rates_alt", i)
  p <- s$overallReject[i]
  add(label, "power", p, NA, sqrt(p * (1 - p) / 100000), 100000)
  add(label, "expected_n", mean(n), NA, sd(n) / sqrt(100000), 100000)
}

# ---------------------------------------------------------- time to event
# Two arms, 300 per arm entering uniformly over 12 months, exponential hazards 0.1 (control)
# and 0.08 (treatment), no dropout; planned analysis at 24 months: 473.54 expected events,
# stages of 237 events; rpact's own rule (events for 90% conditional power at the observed
# hazard ratio, between 237 and 356 = ceil(1.5 x 236.77) new events: every patient can
# still have an event).  rpact analyses by the log-rank test, trialplan by the exponential
# model's Wald z; both use the stage-wise increments of their statistic.
s <- getSimulationSurvival(d2, lambda2 = 0.1, lambda1 = c(0.1, 0.08), directionUpper = FALSE,
                           accrualTime = c(0, 12), maxNumberOfSubjects = 600,
                           plannedEvents = c(237, 474), minNumberOfEventsPerStage = c(NA, 237),
                           maxNumberOfEventsPerStage = c(NA, 356), conditionalPower = 0.9,
                           maxNumberOfIterations = 20000, seed = 20260101)
raw <- getData(s)
for (i in seq_along(s$hazardRatio)) {
  label <- paste0("ssr_survival_alt", i)
  p <- s$overallReject[i]
  sub <- raw[abs(raw$hazardRatio - s$hazardRatio[i]) < 1e-9, ]
  last <- sub[!duplicated(sub$iterationNumber, fromLast = TRUE), ]
  events <- last$overallEvents1 + last$overallEvents2
  add(label, "hazard_ratio", s$hazardRatio[i])
  add(label, "power", p, NA, sqrt(p * (1 - p) / 20000), 20000)
  add(label, "expected_events", mean(events), NA, sd(events) / sqrt(20000), 20000)
  add(label, "expected_n", mean(last$numberOfSubjects), NA,
      sd(last$numberOfSubjects) / sqrt(20000), 20000)
}

# ------------------------------------------------------ final analysis
# Two-sample means, three stages (stage-wise estimates, pooled-SD standard errors).  The
# dataset's per-stage numbers are exported so the test rebuilds the same inputs.
inference_case <- function(case, design, data, normal) {
  a <- getAnalysisResults(design, data, normalApproximation = normal)
  sr <- getStageResults(design, data, normalApproximation = normal)
  k <- length(sr$testStatistics[!is.na(sr$testStatistics)])
  add_vector(case, "stage_z_rpact", qnorm(1 - sr$pValues[1:k]))
  add_vector(case, "repeated_ci_lower", a$repeatedConfidenceIntervalLowerBounds[1:k])
  add_vector(case, "repeated_ci_upper", a$repeatedConfidenceIntervalUpperBounds[1:k])
  add_vector(case, "repeated_p_value", a$repeatedPValues[1:k])
  add(case, "final_stage", a$finalStage)
  s <- a$finalStage
  if (!is.na(s)) {
    add(case, "final_p_value", a$finalPValues[s], s)
    add(case, "final_ci_lower", a$finalConfidenceIntervalLowerBounds[s], s)
    add(case, "final_ci_upper", a$finalConfidenceIntervalUpperBounds[s], s)
    add(case, "median_unbiased", a$medianUnbiasedEstimates[s], s)
    add(case, "overall_sd", sr$overallStDevs[s], s)
  }
}
data3 <- getDataset(n1 = c(22, 24, 21), n2 = c(21, 23, 22), means1 = c(1.3, 1.1, 0.9),
                    means2 = c(0.4, 0.5, 0.3), stDevs1 = c(1.1, 1.2, 1.0),
                    stDevs2 = c(1.0, 0.9, 1.1))
d3of <- getDesignInverseNormal(kMax = 3, alpha = 0.025, informationRates = c(1/3, 2/3, 1),
                               typeOfDesign = "asOF")
inference_case("inference_z", d3of, data3, TRUE)
inference_case("inference_t", d3of, data3, FALSE)
data2 <- getDataset(n1 = c(30, 45), n2 = c(30, 44), means1 = c(0.5, 0.6), means2 = c(0.2, 0.25),
                    stDevs1 = c(1.0, 1.1), stDevs2 = c(1.05, 0.95))
inference_case("inference_2stage", d2, data2, TRUE)
data1 <- getDataset(n1 = 40, n2 = 40, means1 = 1.5, means2 = 0.2, stDevs1 = 1.0, stDevs2 = 1.1)
inference_case("inference_stop1", d2, data1, TRUE)
inference_case("inference_fisher", fisher$fisher_equal_3, data3, TRUE)

out <- do.call(rbind, rows)
write.csv(out, "adaptive_rpact.csv", row.names = FALSE)
cat("wrote", nrow(out), "rows\n")
