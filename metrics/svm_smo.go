package metrics

import "math"

// This file is LIBSVM's Solver (Fan, Chen and Lin, JMLR 6, 2005) for the
// C-SVC dual, restricted to what FitSVC needs:
//
//	min ½ αᵀQα − eᵀα   subject to  yᵀα = 0,  0 ≤ α_i ≤ C,
//	Q_ij = y_i y_j K(x_i, x_j).
//
// It follows scikit-learn's copy of svm.cpp step for step (working-set
// selection, the update with its clipping cases, shrinking every
// min(l, 1000) iterations, gradient reconstruction, rho) because the
// order of floating-point operations and the tie-breaking of arg-max
// scans decide which of many near-optimal solutions SMO stops at; the
// golden tests compare against scikit-learn to the iteration count.
// Products are wrapped in float64(...) where LIBSVM rounds them before an
// addition, so that a compiler may not fuse them into FMAs.

// tau replaces a non-positive curvature in the two-variable subproblem.
const tau = 1e-12

// Variable states, as LIBSVM's alpha_status.
const (
	atLower uint8 = iota
	atUpper
	isFree
)

type smo struct {
	l, activeSize int
	y             []int8
	G             []float64 // gradient of the objective
	Gbar          []float64 // gradient part due to variables at the upper bound
	status        []uint8
	alpha         []float64
	q             *svcQ
	qd            []float64 // Q's diagonal, shared with q (swapped with it)
	eps           float64
	C             []float64
	p             []float64
	activeSet     []int
	unshrink      bool
}

func newSMO(q *svcQ, y []int8, c, eps float64) *smo {
	l := len(y)
	s := &smo{
		l:          l,
		activeSize: l,
		y:          append([]int8(nil), y...),
		G:          make([]float64, l),
		Gbar:       make([]float64, l),
		status:     make([]uint8, l),
		alpha:      make([]float64, l),
		q:          q,
		qd:         q.qd,
		eps:        eps,
		C:          make([]float64, l),
		p:          make([]float64, l),
		activeSet:  make([]int, l),
	}
	for i := range l {
		s.C[i] = c
		s.p[i] = -1
		s.activeSet[i] = i
		s.status[i] = atLower // α starts at 0
		s.G[i] = s.p[i]       // so the gradient is p and Gbar is 0
	}
	return s
}

func (s *smo) updateStatus(i int) {
	switch {
	case s.alpha[i] >= s.C[i]:
		s.status[i] = atUpper
	case s.alpha[i] <= 0:
		s.status[i] = atLower
	default:
		s.status[i] = isFree
	}
}

func (s *smo) swapIndex(i, j int) {
	s.q.swapIndex(i, j)
	s.y[i], s.y[j] = s.y[j], s.y[i]
	s.G[i], s.G[j] = s.G[j], s.G[i]
	s.status[i], s.status[j] = s.status[j], s.status[i]
	s.alpha[i], s.alpha[j] = s.alpha[j], s.alpha[i]
	s.p[i], s.p[j] = s.p[j], s.p[i]
	s.activeSet[i], s.activeSet[j] = s.activeSet[j], s.activeSet[i]
	s.Gbar[i], s.Gbar[j] = s.Gbar[j], s.Gbar[i]
	s.C[i], s.C[j] = s.C[j], s.C[i]
}

// reconstructGradient recomputes G of the shrunk (inactive) variables from
// Gbar and the free variables.
func (s *smo) reconstructGradient() {
	if s.activeSize == s.l {
		return
	}
	for j := s.activeSize; j < s.l; j++ {
		s.G[j] = s.Gbar[j] + s.p[j]
	}
	nFree := 0
	for j := 0; j < s.activeSize; j++ {
		if s.status[j] == isFree {
			nFree++
		}
	}
	// Pick the loop that touches fewer kernel values.
	if nFree*s.l > 2*s.activeSize*(s.l-s.activeSize) {
		for i := s.activeSize; i < s.l; i++ {
			qi := s.q.column(i, s.activeSize)
			for j := 0; j < s.activeSize; j++ {
				if s.status[j] == isFree {
					s.G[i] += float64(s.alpha[j] * float64(qi[j]))
				}
			}
		}
	} else {
		for i := 0; i < s.activeSize; i++ {
			if s.status[i] == isFree {
				qi := s.q.column(i, s.l)
				ai := s.alpha[i]
				for j := s.activeSize; j < s.l; j++ {
					s.G[j] += float64(ai * float64(qi[j]))
				}
			}
		}
	}
}

// solve runs SMO until the stopping rule holds or maxIter (0: no bound)
// iterations have run; it reports the iteration count and whether the
// bound stopped it.
func (s *smo) solve(maxIter int, shrinking bool) (iter int, timedOut bool) {
	counter := min(s.l, 1000) + 1
	for {
		if maxIter > 0 && iter >= maxIter {
			return iter, true
		}
		counter--
		if counter == 0 {
			counter = min(s.l, 1000)
			if shrinking {
				s.doShrinking()
			}
		}
		i, j, optimal := s.selectWorkingSet()
		if optimal {
			s.reconstructGradient()
			s.activeSize = s.l
			if i, j, optimal = s.selectWorkingSet(); optimal {
				return iter, false
			}
			counter = 1 // shrink again at the next iteration
		}
		iter++
		s.step(i, j)
	}
}

// step optimises α_i, α_j analytically, clips them to the box, and
// updates G, the states and Gbar.
func (s *smo) step(i, j int) {
	qi := s.q.column(i, s.activeSize)
	qj := s.q.column(j, s.activeSize)
	ci, cj := s.C[i], s.C[j]
	oldI, oldJ := s.alpha[i], s.alpha[j]
	a := s.alpha

	if s.y[i] != s.y[j] {
		quad := s.qd[i] + s.qd[j] + 2*float64(qi[j])
		if quad <= 0 {
			quad = tau
		}
		delta := (-s.G[i] - s.G[j]) / quad
		diff := a[i] - a[j]
		a[i] += delta
		a[j] += delta
		if diff > 0 {
			if a[j] < 0 {
				a[j] = 0
				a[i] = diff
			}
		} else if a[i] < 0 {
			a[i] = 0
			a[j] = -diff
		}
		if diff > ci-cj {
			if a[i] > ci {
				a[i] = ci
				a[j] = ci - diff
			}
		} else if a[j] > cj {
			a[j] = cj
			a[i] = cj + diff
		}
	} else {
		quad := s.qd[i] + s.qd[j] - 2*float64(qi[j])
		if quad <= 0 {
			quad = tau
		}
		delta := (s.G[i] - s.G[j]) / quad
		sum := a[i] + a[j]
		a[i] -= delta
		a[j] += delta
		if sum > ci {
			if a[i] > ci {
				a[i] = ci
				a[j] = sum - ci
			}
		} else if a[j] < 0 {
			a[j] = 0
			a[i] = sum
		}
		if sum > cj {
			if a[j] > cj {
				a[j] = cj
				a[i] = sum - cj
			}
		} else if a[i] < 0 {
			a[i] = 0
			a[j] = sum
		}
	}

	dI, dJ := a[i]-oldI, a[j]-oldJ
	G := s.G[:s.activeSize]
	qi, qj = qi[:len(G)], qj[:len(G)]
	for k := range G {
		G[k] += float64(float64(qi[k])*dI) + float64(float64(qj[k])*dJ)
	}

	ui, uj := s.status[i] == atUpper, s.status[j] == atUpper
	s.updateStatus(i)
	s.updateStatus(j)
	if ui != (s.status[i] == atUpper) {
		s.addToGbar(i, ci, ui)
	}
	if uj != (s.status[j] == atUpper) {
		s.addToGbar(j, cj, uj)
	}
}

// addToGbar adds (or, when the variable left the upper bound, removes) C·Q_i
// to Gbar.
func (s *smo) addToGbar(i int, c float64, wasUpper bool) {
	qi := s.q.column(i, s.l)
	if wasUpper {
		for k := range s.Gbar {
			s.Gbar[k] -= float64(c * float64(qi[k]))
		}
	} else {
		for k := range s.Gbar {
			s.Gbar[k] += float64(c * float64(qi[k]))
		}
	}
}

// selectWorkingSet is WSS3: i maximises −y_i·∇f_i over I_up, j gives the
// largest second-order decrease among the violators of I_low. optimal
// reports that the largest violation is below eps (or that no j exists).
func (s *smo) selectWorkingSet() (outI, outJ int, optimal bool) {
	gmax, gmax2 := math.Inf(-1), math.Inf(-1)
	gmaxIdx, gminIdx := -1, -1
	objDiffMin := math.Inf(1)

	for t := 0; t < s.activeSize; t++ {
		if s.y[t] == +1 {
			if s.status[t] != atUpper && -s.G[t] >= gmax {
				gmax = -s.G[t]
				gmaxIdx = t
			}
		} else if s.status[t] != atLower && s.G[t] >= gmax {
			gmax = s.G[t]
			gmaxIdx = t
		}
	}

	i := gmaxIdx
	var qi []float32
	if i != -1 { // with i == −1, gmax is −Inf and no j qualifies
		qi = s.q.column(i, s.activeSize)
	}
	for j := 0; j < s.activeSize; j++ {
		if s.y[j] == +1 {
			if s.status[j] != atLower {
				gradDiff := gmax + s.G[j]
				if s.G[j] >= gmax2 {
					gmax2 = s.G[j]
				}
				if gradDiff > 0 {
					quad := s.qd[i] + s.qd[j] - float64(2.0*float64(s.y[i])*float64(qi[j]))
					objDiffMin, gminIdx = s.consider(gradDiff, quad, objDiffMin, gminIdx, j)
				}
			}
		} else if s.status[j] != atUpper {
			gradDiff := gmax - s.G[j]
			if -s.G[j] >= gmax2 {
				gmax2 = -s.G[j]
			}
			if gradDiff > 0 {
				quad := s.qd[i] + s.qd[j] + float64(2.0*float64(s.y[i])*float64(qi[j]))
				objDiffMin, gminIdx = s.consider(gradDiff, quad, objDiffMin, gminIdx, j)
			}
		}
	}
	if gmax+gmax2 < s.eps || gminIdx == -1 {
		return 0, 0, true
	}
	return gmaxIdx, gminIdx, false
}

// consider keeps j if its objective decrease is at least as large as the
// best so far (ties go to the later index, as in LIBSVM).
func (s *smo) consider(gradDiff, quad, best float64, bestIdx, j int) (float64, int) {
	var objDiff float64
	if quad > 0 {
		objDiff = -(gradDiff * gradDiff) / quad
	} else {
		objDiff = -(gradDiff * gradDiff) / tau
	}
	if objDiff <= best {
		return objDiff, j
	}
	return best, bestIdx
}

func (s *smo) beShrunk(i int, gmax1, gmax2 float64) bool {
	switch s.status[i] {
	case atUpper:
		if s.y[i] == +1 {
			return -s.G[i] > gmax1
		}
		return -s.G[i] > gmax2
	case atLower:
		if s.y[i] == +1 {
			return s.G[i] > gmax2
		}
		return s.G[i] > gmax1
	}
	return false
}

func (s *smo) doShrinking() {
	gmax1, gmax2 := math.Inf(-1), math.Inf(-1) // max −y·∇f over I_up, max y·∇f over I_low
	for i := 0; i < s.activeSize; i++ {
		if s.y[i] == +1 {
			if s.status[i] != atUpper && -s.G[i] >= gmax1 {
				gmax1 = -s.G[i]
			}
			if s.status[i] != atLower && s.G[i] >= gmax2 {
				gmax2 = s.G[i]
			}
		} else {
			if s.status[i] != atUpper && -s.G[i] >= gmax2 {
				gmax2 = -s.G[i]
			}
			if s.status[i] != atLower && s.G[i] >= gmax1 {
				gmax1 = s.G[i]
			}
		}
	}
	// Close to the end, bring every variable back once so that the final
	// iterations see the whole problem.
	if !s.unshrink && gmax1+gmax2 <= s.eps*10 {
		s.unshrink = true
		s.reconstructGradient()
		s.activeSize = s.l
	}
	for i := 0; i < s.activeSize; i++ {
		if s.beShrunk(i, gmax1, gmax2) {
			s.activeSize--
			for s.activeSize > i {
				if !s.beShrunk(s.activeSize, gmax1, gmax2) {
					s.swapIndex(i, s.activeSize)
					break
				}
				s.activeSize--
			}
		}
	}
}

// calculateRho is the offset: the mean of y·∇f over free variables, or the
// middle of the feasible interval when none is free.
func (s *smo) calculateRho() float64 {
	nFree := 0
	ub, lb, sumFree := math.Inf(1), math.Inf(-1), 0.0
	for i := 0; i < s.activeSize; i++ {
		yG := float64(s.y[i]) * s.G[i]
		switch s.status[i] {
		case atUpper:
			if s.y[i] == -1 {
				ub = min(ub, yG)
			} else {
				lb = max(lb, yG)
			}
		case atLower:
			if s.y[i] == +1 {
				ub = min(ub, yG)
			} else {
				lb = max(lb, yG)
			}
		default:
			nFree++
			sumFree += yG
		}
	}
	if nFree > 0 {
		return sumFree / float64(nFree)
	}
	return (ub + lb) / 2
}

func (s *smo) objective() float64 {
	v := 0.0
	for i := range s.alpha {
		v += float64(s.alpha[i] * (s.G[i] + s.p[i]))
	}
	return v / 2
}

// solution returns α in the order the problem was given (undoing the
// shrinking swaps).
func (s *smo) solution() []float64 {
	out := make([]float64, s.l)
	for i, orig := range s.activeSet {
		out[orig] = s.alpha[i]
	}
	return out
}
