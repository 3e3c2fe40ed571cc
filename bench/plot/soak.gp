# bench/plot/soak.gp: the soak, second by second, for each server: completed requests per second
# (what='rps') or the server's resident memory (what='rss'). bench/run prepares the data and
# calls:
#   gnuplot -e "datadir='DIR'; labels='zcoap libcoap'; what='rps'; out='FILE.png'" soak.gp
# DIR/soak-LABEL.dat holds rows "t_s req_per_s server_rss_kib server_cpu_pct".
set terminal pngcairo size 900, 420 font "sans,10"
set output out
set grid
set xlabel "time (s)"
set key below
set yrange [0:*]
set xrange [0:*]
set autoscale xfixmax
color(l) = (l eq "zcoap") ? "#1b7837" : (l eq "libcoap") ? "#b2182b" : "#808080"
if (what eq "rps") {
    set title "Soak at a fixed offered load (70 % of each server's maximum): completed requests per second"
    set ylabel "thousand requests per second"
    plot for [i = 1:words(labels)] sprintf("%s/soak-%s.dat", datadir, word(labels, i)) \
        using 1:($2 / 1000) with lines lw 2 lc rgb color(word(labels, i)) title word(labels, i)
} else {
    set title "Soak at a fixed offered load: server resident memory (VmRSS)"
    set ylabel "RSS (MiB)"
    plot for [i = 1:words(labels)] sprintf("%s/soak-%s.dat", datadir, word(labels, i)) \
        using 1:($3 / 1024) with lines lw 2 lc rgb color(word(labels, i)) title word(labels, i)
}
