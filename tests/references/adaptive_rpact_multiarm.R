# Reference values for trialplan's arm selection (tests/test_adaptive_selection.py), with
# rpact 3.3.4's getSimulationMultiArmMeans (closed combination tests, z tests with the SD
# known).  Run from this directory:  Rscript adaptive_rpact_multiarm.R
# It writes adaptive_rpact_multiarm.csv: case, scenario, quantity, arm, value, mcse, n_sims.
suppressPackageStartupMessages(library(rpact))
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")
rows <- list()
add <- function(case, scenario, quantity, value, arm = NA, mcse = NA, n_sims = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, scenario = scenario, quantity = quantity, arm = arm, value = value,
    mcse = mcse, n_sims = n_sims, stringsAsFactors = FALSE)
}
iterations <- 20000
effects <- rbind(c(0, 0, 0), c(0.2, 0.4, 0.6), c(0, 0, 0.5))
d2 <- getDesignInverseNormal(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1),
                             typeOfDesign = "asOF")
f2 <- getDesignFisher(kMax = 2, alpha = 0.025, informationRates = c(0.5, 1))
run <- function(case, design, ...) {
  s <- getSimulationMultiArmMeans(design, activeArms = 3, effectMatrix = effects,
                                  typeOfShape = "userDefined", stDev = 1,
                                  plannedSubjects = c(20, 40),
                                  maxNumberOfIterations = iterations, seed = 20260101, ...)
  raw <- getData(s)
  for (i in seq_len(nrow(effects))) {
    p <- s$rejectAtLeastOne[i]
    add(case, i, "reject_any", p, NA, sqrt(p * (1 - p) / iterations), iterations)
    for (g in 1:3) {
      p <- sum(s$rejectedArmsPerStage[, i, g])
      add(case, i, "reject_arm", p, g, sqrt(p * (1 - p) / iterations), iterations)
      p <- s$selectedArms[2, i, g]
      add(case, i, "selected_stage_2", p, g, sqrt(p * (1 - p) / iterations), iterations)
    }
    # final N of each simulated trial: cumulative subjects at its last stage
    sub <- raw[abs(raw$muMax - s$muMaxVector[i]) < 1e-9, ]
    last <- sub[!duplicated(sub$iterationNumber, fromLast = TRUE), ]
    n <- last$numberOfCumulatedSubjects
    add(case, i, "expected_n", s$expectedNumberOfSubjects[i], NA, sd(n) / sqrt(iterations),
        iterations)
    add(case, i, "mean_final_n", mean(n), NA, sd(n) / sqrt(iterations), iterations)
  }
}
run("dunnett_best", d2, intersectionTest = "Dunnett", typeOfSelection = "best")
run("simes_epsilon", d2, intersectionTest = "Simes", typeOfSelection = "epsilon",
    epsilonValue = 0.1)
run("bonferroni_rbest", d2, intersectionTest = "Bonferroni", typeOfSelection = "rBest",
    rValue = 2)
run("fisher_best", f2, intersectionTest = "Dunnett", typeOfSelection = "best")
run("sidak_threshold", d2, intersectionTest = "Sidak", typeOfSelection = "all", threshold = 0,
    successCriterion = "atLeastOne")
out <- do.call(rbind, rows)
write.csv(out, "adaptive_rpact_multiarm.csv", row.names = FALSE)
cat("wrote", nrow(out), "rows\n")
