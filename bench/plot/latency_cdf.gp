# bench/plot/latency_cdf.gp: latency distribution of each server at each window, CON requests
# from one client socket. The y axis stretches the tail: y = -log10(1 - p), so 50 %, 90 %, 99 %,
# 99.9 % are evenly spaced. bench/run prepares the data and calls:
#   gnuplot -e "datadir='DIR'; windows='1 16 64'; out='FILE.png'" latency_cdf.gp
# DIR/cdf-wW-SERVER.dat holds rows "latency_us y".
n = words(windows)
set terminal pngcairo size 520 * n, 420 font "sans,10"
set output out
set logscale x 10
set grid xtics ytics mxtics
set xlabel "latency (microseconds, log scale)"
set ylabel "percentile"
set ytics ("0" 0, "50" log10(2), "90" 1, "99" 2, "99.9" 3, "99.99" 4, "99.999" 5)
set yrange [0:*]
set key bottom right
servers = "zcoap libcoap ceiling"
colors = "#1b7837 #b2182b #808080"
set multiplot layout 1, n title "GET /hello latency, CON, 1 client socket"
do for [i = 1:n] {
    w = word(windows, i)
    set title sprintf("W = %s", w)
    plot for [j = 1:3] sprintf("%s/cdf-w%s-%s.dat", datadir, w, word(servers, j)) \
        using 1:2 with lines lw 2 lc rgb word(colors, j) title word(servers, j)
}
unset multiplot
