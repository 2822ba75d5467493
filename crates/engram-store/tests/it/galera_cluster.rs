//! A throwaway three-node MariaDB Galera cluster for the tests: loopback ports nothing else
//! uses, data in a temp dir, joiners fed by rsync SST, every node stopped when the cluster
//! drops (a failed test included).

use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to start, or to rejoin and catch up.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The programs a cluster needs: Debian's `mariadb-server`, `galera-4` and `rsync`.
pub struct Tools {
    server: PathBuf,
    install: PathBuf,
    client: PathBuf,
    provider: PathBuf,
}

impl Tools {
    /// The tools, or what is missing. The provider is `ENGRAM_GALERA_PROVIDER`, else where
    /// Debian's `galera-4` (or an RPM's `galera-4`) puts it.
    pub fn find() -> Result<Self, String> {
        let program = |names: &[&str]| names.iter().find_map(|name| which(name)).ok_or_else(|| names.join(" or "));
        let provider = std::env::var_os("ENGRAM_GALERA_PROVIDER")
            .map(PathBuf::from)
            .into_iter()
            .chain(["/usr/lib/galera/libgalera_smm.so", "/usr/lib64/galera-4/libgalera_smm.so"].map(PathBuf::from))
            .find(|path| path.is_file())
            .ok_or("libgalera_smm.so (galera-4)")?;
        program(&["rsync"])?;
        Ok(Self {
            server: program(&["mariadbd", "mysqld"])?,
            install: program(&["mariadb-install-db", "mysql_install_db"])?,
            client: program(&["mariadb", "mysql"])?,
            provider,
        })
    }
}

/// A program on `PATH` or in the system directories a user's `PATH` may leave out.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
}

pub struct Node {
    /// The client port engram connects to.
    pub port: u16,
    config: PathBuf,
    process: Option<Child>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    tools: Tools,
    directory: tempfile::TempDir,
}

impl Cluster {
    /// Starts `size` nodes: the first bootstraps the cluster, the others join it by SST.
    pub fn start(tools: Tools, size: usize) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let root = running_as_root();
        if root {
            // mariadbd drops to `mysql`, which must reach the data directories.
            run(Command::new("chmod").arg("755").arg(directory.path()));
        }
        let ports = free_ports(4 * size);
        let members: Vec<String> = (0..size).map(|index| format!("127.0.0.1:{}", ports[4 * index + 1])).collect();
        let mut nodes = Vec::new();
        for index in 0..size {
            let home = directory.path().join(format!("node{index}"));
            std::fs::create_dir_all(home.join("data")).unwrap();
            let [port, group, incremental, snapshot] = [0, 1, 2, 3].map(|offset| ports[4 * index + offset]);
            let config = home.join("my.cnf");
            let mut text = String::from("[mariadbd]\n");
            if root {
                text.push_str("user=mysql\n");
            }
            let home_text = home.display();
            writeln!(
                text,
                "datadir={home_text}/data\nsocket={home_text}/socket\npid-file={home_text}/pid\n\
                 log-error={home_text}/error.log\nport={port}\nbind-address=127.0.0.1\nskip-name-resolve\n\
                 binlog_format=ROW\ndefault_storage_engine=InnoDB\ninnodb_autoinc_lock_mode=2\n\
                 innodb_buffer_pool_size=32M\ninnodb_log_file_size=16M\ninnodb_flush_log_at_trx_commit=2\n\
                 performance_schema=OFF\nwsrep_on=ON\nwsrep_provider={provider}\n\
                 wsrep_cluster_name=engram_test\nwsrep_cluster_address=gcomm://{members}\n\
                 wsrep_node_name=node{index}\nwsrep_node_address=127.0.0.1:{group}\n\
                 wsrep_sst_method=rsync\nwsrep_sst_receive_address=127.0.0.1:{snapshot}",
                provider = tools.provider.display(),
                members = members.join(","),
            )
            .unwrap();
            // A dead node is declared gone after seconds rather than the default 15: the
            // survivors' commits wait for that.
            writeln!(
                text,
                "wsrep_provider_options=\"gmcast.listen_addr=tcp://127.0.0.1:{group};ist.recv_addr=127.0.0.1:{incremental};\
                 gcache.size=64M;evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT3S\""
            )
            .unwrap();
            std::fs::write(&config, text).unwrap();
            if root {
                run(Command::new("chown").args(["-R", "mysql:mysql"]).arg(&home));
            }
            nodes.push(Node { port, config, process: None });
        }
        let mut cluster = Self { nodes, tools, directory };
        run(Command::new(&cluster.tools.install)
            .arg(format!("--defaults-file={}", cluster.nodes[0].config.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]));
        cluster.launch(0, &["--wsrep-new-cluster".into()]);
        cluster.wait_ready(0);
        for index in 1..size {
            cluster.launch(index, &[]);
        }
        for index in 1..size {
            cluster.wait_ready(index);
        }
        cluster
    }

    /// `mysql://` DSN of node `index` for a store on `database`, failing fast while it is down.
    pub fn dsn(&self, index: usize, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}?connect_timeout=1&query_timeout=20", self.nodes[index].port)
    }

    fn launch(&mut self, index: usize, extra: &[String]) {
        let node = &mut self.nodes[index];
        let log = std::fs::File::create(self.directory.path().join(format!("node{index}.out"))).unwrap();
        let child = Command::new(&self.tools.server)
            .arg(format!("--defaults-file={}", node.config.display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own process group, so that stopping it stops the rsync it may have started.
            .process_group(0)
            .spawn()
            .unwrap();
        node.process = Some(child);
    }

    /// SIGKILL: no shutdown, the node just disappears.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].process.take() {
            // Negative: the whole process group.
            let _ =
                Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).stderr(Stdio::null()).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped node again as Debian's service does after a crash: the position its
    /// data reached is recovered first (`--wsrep-recover`), so that it catches up by IST (the
    /// writes it missed, from a donor's cache) rather than a full SST. Waits until it serves;
    /// returns how it caught up.
    pub fn restart(&mut self, index: usize) -> &'static str {
        let before = self.log_text(index).len();
        let config = format!("--defaults-file={}", self.nodes[index].config.display());
        run(Command::new(&self.tools.server).args([config, "--wsrep-recover".into()]));
        let recovered = self.log_text(index)[before..]
            .lines()
            .filter_map(|line| line.split("WSREP: Recovered position: ").nth(1))
            .next_back()
            .map(|position| format!("--wsrep-start-position={}", position.trim()));
        self.launch(index, recovered.as_slice());
        self.wait_ready(index);
        // rsync's script runs either way and says which transfer it received.
        if self.log_text(index)[before..].contains("rsync SST completed") { "SST" } else { "IST" }
    }

    /// Until the node is synced with the primary component and accepts queries.
    pub fn wait_ready(&mut self, index: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.status(index, "wsrep_ready").as_deref() != Some("ON") {
            if let Some(Some(status)) = self.nodes[index].process.as_mut().map(|child| child.try_wait().unwrap()) {
                panic!("node {index} exited ({status}): {}", self.log(index));
            }
            assert!(Instant::now() < deadline, "node {index} not ready after {READY_TIMEOUT:?}: {}", self.log(index));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A `SHOW STATUS` value of node `index`; `None` while it does not answer.
    pub fn status(&self, index: usize, name: &str) -> Option<String> {
        self.sql(index, &format!("SHOW STATUS LIKE '{name}'"))
            .ok()
            .and_then(|output| output.split('\t').nth(1).map(|value| value.trim().to_string()))
    }

    /// Runs `statement` on node `index` with the command-line client; its output, tab-separated.
    pub fn sql(&self, index: usize, statement: &str) -> Result<String, String> {
        let output = Command::new(&self.tools.client)
            .args(["-h", "127.0.0.1", "-u", "root", "--connect-timeout=1", "-N", "-B", "-P"])
            .arg(self.nodes[index].port.to_string())
            .args(["-e", statement])
            .output()
            .unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    fn log_text(&self, index: usize) -> String {
        std::fs::read_to_string(self.directory.path().join(format!("node{index}/error.log"))).unwrap_or_default()
    }

    /// The tail of node `index`'s error log, for failure messages.
    fn log(&self, index: usize) -> String {
        let text = self.log_text(index);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// `count` loopback ports free right now (held together while they are picked, so distinct).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|listener| listener.local_addr().unwrap().port()).collect()
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
