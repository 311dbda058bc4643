# gnuplot script written by `attnbound sweep` (plots proofs/figures/gpt2-init-R100.csv)
set terminal pngcairo size 1000,650 enhanced font 'DejaVu Sans,11'
set output 'proofs/figures/gpt2-init-R100.png'
set datafile separator ','
set datafile columnheaders
set datafile missing ''
set logscale y
set yrange [*:195475]
set format y '10^{%L}'
set xlabel 'n (tokens)'
set ylabel 'Lipschitz constant of attention on B_R^n'
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set key top left box opaque font ',10'
set title 'builtin:gpt2-init (witnesses from head 0),  R = 100,  causal'
set label 1 'MF-causal ≈ 10^{488} (off the chart)' at graph 0.98, graph 0.04 right font ',10'
plot 'proofs/figures/gpt2-init-R100.csv' using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f4e99' title 'certified lower bound', \
     'proofs/figures/gpt2-init-R100.csv' using 1:13 with linespoints lw 2 pt 5 ps 0.7 lc rgb '#17becf' title 'certified lower bound, balanced-pole witness', \
     'proofs/figures/gpt2-init-R100.csv' using 1:14 with lines lw 2.5 dt 1 lc rgb '#8c564b' title 'certified upper bound, analytic tier', \
     'proofs/figures/gpt2-init-R100.csv' using 1:3 with lines lw 1.5 dt 2 lc rgb '#2ca02c' title 'float estimate ‖J(X)‖ at the witness', \
     'proofs/figures/gpt2-init-R100.csv' using 1:8 with lines lw 2.5 lc rgb '#c0392b' title 'min(U1, MF-causal)  (statement values)', \
     'proofs/figures/gpt2-init-R100.csv' using 1:5 with lines lw 1 dt 3 lc rgb '#e67e22' title 'U1', \
     'proofs/figures/gpt2-init-R100.csv' using 1:9 with lines lw 1.5 dt 5 lc rgb '#7f7f7f' title 'C √n,  C = 0.708'
