# Bounds of the adaptive plan checked by plan_adaptive_independent.py (rpact 3.3.4).
# Run: Rscript plan_adaptive_bounds.R
# One interim at 60% of the information, one-sided alpha 0.025, Lan-DeMets
# O'Brien-Fleming-type alpha spending, non-binding futility bound from
# O'Brien-Fleming-type beta spending with beta = 0.2.
suppressMessages(library(rpact))
d <- getDesignGroupSequential(kMax = 2, informationRates = c(0.6, 1), alpha = 0.025, beta = 0.2,
  typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = FALSE, sided = 1)
cat(sprintf("efficacy: %.10f %.10f\n", d$criticalValues[1], d$criticalValues[2]))
cat(sprintf("futility: %.10f\n", d$futilityBounds[1]))
cat(sprintf("rpact %s\n", as.character(packageVersion("rpact"))))
# Output (rpact 3.3.4):
# efficacy: 2.6686301429 1.9809650257
# futility: 0.9637298517
